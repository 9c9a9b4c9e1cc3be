# tests for gateway: see tests/local.mk
