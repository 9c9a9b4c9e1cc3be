# tests for message: see tests/local.mk
