# Real SIP clients as users (tests/clients/clients.py): baresip and
# linphonec registered at a private Kamailio running
# docs/examples/kamailio-stox.cfg, stoxd and a private Prosody behind it.
# TAP scripts for /usr/bin/python3 (PY_LOG_COMPILER in tests/local.mk).
# A missing client or server package fails them (tests/deps.txt).
CLIENTS_TESTS = \
	tests/clients/test-clients-kamailio-example.py \
	tests/clients/test-clients-messages.py \
	tests/clients/test-clients-presence.py \
	tests/clients/test-clients-restart.py \
	tests/clients/test-clients-new-dialog.py
TESTS += $(CLIENTS_TESTS)
dist_check_SCRIPTS += $(CLIENTS_TESTS)
EXTRA_DIST += tests/clients/clients.py
