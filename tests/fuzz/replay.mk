# Fuzz targets (tests/fuzz/README): what every build has.  Each target
# fuzz-NAME.c is linked here with replay.c's main() as tests/fuzz/replay-NAME,
# a `make check` test in the plain and ASan+UBSan builds that replays the
# seed corpus and every input that once broke the target.  The libFuzzer
# binaries and `make fuzz` are in tests/fuzz/local.mk (--enable-fuzzing).
FUZZ_CPPFLAGS = $(UNIT_CPPFLAGS) -DSTOX_FUZZ_RULES_DIR=\"$(abs_top_srcdir)/gateway-rules\"
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz-common.c
FUZZ_DRIVER = tests/fuzz/driver.h tests/fuzz/driver.c
FUZZ_DRIVER_CPPFLAGS = $(FUZZ_CPPFLAGS) $(SOFIA_CFLAGS) $(STROPHE_CFLAGS)
FUZZ_DRIVER_LDADD = src/libstox-sip.a src/libstox-xmpp.a $(CORE_LIBS) $(SOFIA_LIBS) $(STROPHE_LIBS)

REPLAY_TESTS = \
	tests/fuzz/replay-pidf \
	tests/fuzz/replay-message \
	tests/fuzz/replay-address \
	tests/fuzz/replay-rules \
	tests/fuzz/replay-sip \
	tests/fuzz/replay-stanza
check_PROGRAMS += $(REPLAY_TESTS)
TESTS += $(REPLAY_TESTS)

tests_fuzz_replay_pidf_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-pidf.c $(FUZZ_COMMON)
tests_fuzz_replay_pidf_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"pidf\"
tests_fuzz_replay_pidf_LDADD = $(CORE_LIBS)
tests_fuzz_replay_message_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-message.c $(FUZZ_COMMON)
tests_fuzz_replay_message_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"message\"
tests_fuzz_replay_message_LDADD = $(CORE_LIBS)
tests_fuzz_replay_address_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-address.c $(FUZZ_COMMON)
tests_fuzz_replay_address_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"address\"
tests_fuzz_replay_address_LDADD = $(CORE_LIBS)
tests_fuzz_replay_rules_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-rules.c $(FUZZ_COMMON)
tests_fuzz_replay_rules_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"rules\"
tests_fuzz_replay_rules_LDADD = $(CORE_LIBS)
tests_fuzz_replay_sip_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-sip.c $(FUZZ_DRIVER) $(FUZZ_COMMON)
tests_fuzz_replay_sip_CPPFLAGS = $(FUZZ_DRIVER_CPPFLAGS) -DFUZZ_NAME=\"sip\"
tests_fuzz_replay_sip_LDADD = $(FUZZ_DRIVER_LDADD)
tests_fuzz_replay_stanza_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-stanza.c $(FUZZ_DRIVER) $(FUZZ_COMMON)
tests_fuzz_replay_stanza_CPPFLAGS = $(FUZZ_DRIVER_CPPFLAGS) -DFUZZ_NAME=\"stanza\"
tests_fuzz_replay_stanza_LDADD = $(FUZZ_DRIVER_LDADD)

# `make fuzz` runs each target through run-target.sh (TAP) with its options
# file tests/fuzz/NAME.fuzz as the test.
FUZZ_TESTS = \
	tests/fuzz/pidf.fuzz \
	tests/fuzz/message.fuzz \
	tests/fuzz/address.fuzz \
	tests/fuzz/rules.fuzz \
	tests/fuzz/sip.fuzz \
	tests/fuzz/stanza.fuzz
TEST_EXTENSIONS += .fuzz
FUZZ_SECONDS = 60
# `make fuzz` is in tests/fuzz/local.mk (--enable-fuzzing), else a hint.
.PHONY: fuzz clean-fuzz-work
FUZZ_LOG_DRIVER = $(LOG_DRIVER)
FUZZ_LOG_COMPILER = env FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILDDIR=$(abs_top_builddir)/tests/fuzz \
	FUZZ_WORKDIR=$(abs_top_builddir)/fuzz-work $(SHELL) $(top_srcdir)/tests/fuzz/run-target.sh

EXTRA_DIST += tests/fuzz/README tests/fuzz/run-target.sh $(FUZZ_TESTS) \
	tests/fuzz/sip.dict tests/fuzz/xml.dict tests/fuzz/address.dict tests/fuzz/rules.dict \
	tests/fuzz/corpus tests/fuzz/regressions
