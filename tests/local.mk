LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .py .sh
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = /usr/bin/python3
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	G_TEST_SRCDIR=$(abs_top_srcdir)/tests \
	G_TEST_BUILDDIR=$(abs_top_builddir)/tests \
	STOX_SRCDIR=$(abs_top_srcdir) STOX_BUILDDIR=$(abs_top_builddir) \
	G_DEBUG=fatal-warnings,fatal-criticals \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=detect_leaks=1
UNIT_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests $(GLIB_CFLAGS) $(XML_CFLAGS)
# The loop for a while, loopback sockets and ports, temporary directories.
TEST_UTIL = tests/support/testutil.c tests/support/testutil.h

# One fragment per tier (tests/README).
include tests/unit/local.mk
include tests/frontend/local.mk
include tests/integration/local.mk
include tests/e2e/local.mk
include tests/faults/local.mk
include tests/clients/local.mk
# Fuzz targets: replayed on their corpus in every build; libFuzzer binaries
# and `make fuzz` only with --enable-fuzzing.
include tests/fuzz/replay.mk
if ENABLE_FUZZING
include tests/fuzz/local.mk
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzzing CC=clang" >&2; exit 1
endif

# TLS listener and key/certificate checks (needs the openssl command).
TESTS += tests/e2e/test-tls.py
dist_check_SCRIPTS += tests/e2e/test-tls.py

# A watcher's dialog ended by stoxd's own expiry timer (waits ~60 s).
TESTS += tests/e2e/test-presence-expiry.py
dist_check_SCRIPTS += tests/e2e/test-presence-expiry.py
EXTRA_DIST += tests/README
