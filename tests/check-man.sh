#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Lints the generated manual pages with groff's warnings all on; any
# warning fails the page (model-codebases.md §4.2).  TAP output.
# make check runs this in the build tree and sets STOX_BUILDDIR.

builddir=${STOX_BUILDDIR:-.}
pages="stoxd.8 stox.conf.5 stox-rules.5"
n=0

echo "1..3"
if ! command -v groff >/dev/null 2>&1; then
  for page in $pages; do
    n=$((n + 1))
    echo "ok $n - $page # SKIP groff not installed"
  done
  exit 0
fi

status=0
for page in $pages; do
  n=$((n + 1))
  file=$builddir/docs/$page
  if [ ! -f "$file" ]; then
    echo "not ok $n - $page # not built: $file"
    status=1
    continue
  fi
  # -z: no output, only diagnostics; -ww: every warning category.  Unfilled
  # @substitutions@ would mean the sed step missed one.
  # -Wbreak: a long install prefix (distcheck's) can leave one line
  # unadjustable; that is layout, not an error in the page.
  out=$(LC_ALL=C.UTF-8 groff -man -ww -Wbreak -z -Tutf8 "$file" 2>&1)
  left=$(grep -n '@[A-Za-z_]*@' "$file")
  if [ -z "$out" ] && [ -z "$left" ]; then
    echo "ok $n - $page"
  else
    echo "not ok $n - $page"
    printf '%s\n' "$out" "$left" | sed -e '/^$/d' -e 's/^/# /'
    status=1
  fi
done
exit $status
