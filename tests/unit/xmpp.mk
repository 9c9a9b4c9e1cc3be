# tests for xmpp: see tests/local.mk
