# tests for sip: see tests/local.mk
