# Fault tests (tests/faults/): stoxd between a private Prosody and a
# scripted SIP peer while something breaks — the XMPP server killed in a
# burst, a SIP peer that never answers.  Python with tests/e2e/stoxtest.py.
FAULT_TESTS = \
	tests/faults/test-prosody-kill.py \
	tests/faults/test-silent-peer.py \
	tests/faults/test-overload.py
TESTS += $(FAULT_TESTS)
dist_check_SCRIPTS += $(FAULT_TESTS)

# The soak (tests/faults/soak.py): not in `make check` (minutes); run by
# hand, SOAK_SECONDS long, against this build's stoxd.
SOAK_SECONDS = 120
soak: src/stoxd
	$(AM_TESTS_ENVIRONMENT) SOAK_SECONDS=$(SOAK_SECONDS) /usr/bin/python3 $(srcdir)/tests/faults/soak.py
.PHONY: soak
EXTRA_DIST += tests/faults/soak.py
