# tests for rules: see tests/local.mk
