#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every action of the core is built by src/core/actions.c (one builder per
# kind, and the one free function): no other file of the core allocates a
# StoxAction or sets an action's kind.  Reading actions is fine.  TAP output.
src="${STOX_SRCDIR:-.}"
echo "1..1"
bad=$(grep -nE 'kind[[:space:]]*=[[:space:]]*STOX_ACTION_|g_(new0?|slice_new0?|malloc0?)[[:space:]]*\(StoxAction\b|\(StoxAction[[:space:]]*\)[[:space:]]*\{' \
        "$src"/src/core/*.c | grep -v '^[^:]*/src/core/actions\.c:')
if [ -n "$bad" ]; then
  echo "not ok 1 - only src/core/actions.c builds actions"
  echo "$bad" | sed 's/^/# /'
  exit 1
fi
echo "ok 1 - only src/core/actions.c builds actions"
