#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Comments and test texts cite what ships with the project (its man pages,
# docs/mappings.md, docs/architecture.md) or the RFC and XEP sections
# themselves: nothing outside the tarball, no issue numbers, which mean
# nothing to a reader of a release.  TAP output.
src="${STOX_SRCDIR:-.}"
echo "1..1"
bad=$(grep -rnE 'INTERFACE\.md|INTERFACE §|rfc-mappings|ARCHITECTURE\.md|\.\./shared/|\([Ii]ssue [0-9]+|[Ii]ssue [0-9]+ item' \
        "$src"/src "$src"/tests "$src"/bench "$src"/gateway-rules "$src"/docs/*.in 2>/dev/null \
      | grep -v '/tests/check-citations\.sh:')
if [ -n "$bad" ]; then
  echo "not ok 1 - sources cite only what ships with them"
  echo "$bad" | sed 's/^/# /'
  exit 1
fi
echo "ok 1 - sources cite only what ships with them"
