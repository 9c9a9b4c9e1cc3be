# End-to-end tests against real peers (Prosody, slixmpp, a scripted SIP UA).
# Each script prints TAP and runs with /usr/bin/python3 (PY_LOG_COMPILER in
# tests/local.mk); STOX_SRCDIR / STOX_BUILDDIR tell it where stoxd and the
# shipped rules are.  They need src/stoxd, which `make check` builds first.
E2E_TESTS = \
	tests/e2e/test-harness.py \
	tests/e2e/test-cli.py \
	tests/e2e/test-journal.py \
	tests/e2e/test-readiness.py \
	tests/e2e/test-sip-to-xmpp.py \
	tests/e2e/test-bounce-late.py \
	tests/e2e/test-xmpp-to-sip.py \
	tests/e2e/test-back-pressure.py \
	tests/e2e/test-restart.py \
	tests/e2e/test-loops.py \
	tests/e2e/test-identity.py \
	tests/e2e/test-limits.py \
	tests/e2e/test-stanza-size.py \
	tests/e2e/test-tcp-limits.py \
	tests/e2e/test-tls-verify.py
TESTS += $(E2E_TESTS)
dist_check_SCRIPTS += $(E2E_TESTS)
EXTRA_DIST += tests/e2e/stoxtest.py

# A private Kamailio presence server (tests/e2e/kamailio.py) and the test
# that proves it; needs the packages of tests/deps.txt (fails
# without /usr/sbin/kamailio).
TESTS += tests/e2e/test-kamailio.py
dist_check_SCRIPTS += tests/e2e/test-kamailio.py
EXTRA_DIST += tests/e2e/kamailio.py
# kamailio.py runs docs/examples/kamailio-stox.cfg, which ships with the docs

# Presence end to end (stoxd(8) PRESENCE): SIP watcher -> XMPP user,
# XMPP user -> SIP user (a scripted presence server), and both through a
# real Kamailio presence server (fails without /usr/sbin/kamailio).
PRESENCE_E2E_TESTS = \
	tests/e2e/test-presence-s2x.py \
	tests/e2e/test-presence-x2s.py \
	tests/e2e/test-presence-kamailio.py
TESTS += $(PRESENCE_E2E_TESTS)
dist_check_SCRIPTS += $(PRESENCE_E2E_TESTS)

# Presence across a restart of stoxd (stoxd(8) FILES): graceful stop and
# SIGKILL, the same state-dir and SIP port; follows and approvals come back.
TESTS += tests/e2e/test-presence-restart.py
dist_check_SCRIPTS += tests/e2e/test-presence-restart.py

# ejabberd as the XMPP server (tests/e2e/ejabberd.py, a private node that
# loads docs/examples/ejabberd-stox.yml): messages and presence both ways.
TESTS += tests/e2e/test-ejabberd.py
dist_check_SCRIPTS += tests/e2e/test-ejabberd.py
EXTRA_DIST += tests/e2e/ejabberd.py

# [metrics] listen: known traffic, /metrics scraped before and after, every
# counter moved by exactly what was sent; off by default; warnings.
TESTS += tests/e2e/test-metrics.py
dist_check_SCRIPTS += tests/e2e/test-metrics.py
