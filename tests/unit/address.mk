# tests for address: see tests/local.mk
