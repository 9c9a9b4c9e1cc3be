#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Lints the generated manual pages; TAP output, three checks per page:
#  1. groff's warnings all on: any warning fails the page
#     (model-codebases.md §4.2), and no @substitution@ is left;
#  2. every special character escape (\(xx, \[name]) is one of those the
#     pages mean to use: an escape that exists but draws another glyph
#     passes groff silently ("80\(pc" is a middle dot, not a percent sign);
#  3. the state directory is shown as /var/lib/stox, not under the
#     installation prefix: stoxd's default does not depend on it.
# make check runs this in the build tree and sets STOX_BUILDDIR.

builddir=${STOX_BUILDDIR:-.}
pages="stoxd.8 stox.conf.5 stox-rules.5"
# bullet, quotes, section sign, multiplication sign, arrow, dashes.
allowed='bu dq aq lq rq sc mu -> em en'
n=0

echo "1..9"
if ! command -v groff >/dev/null 2>&1; then
  for page in $pages; do
    for what in groff escapes state-dir; do
      n=$((n + 1))
      echo "not ok $n - $page $what # groff not installed"
    done
  done
  exit 1
fi

status=0
for page in $pages; do
  file=$builddir/docs/$page

  n=$((n + 1))
  if [ ! -f "$file" ]; then
    echo "not ok $n - $page # not built: $file"
    echo "not ok $((n + 1)) - $page escapes # not built"
    echo "not ok $((n + 2)) - $page state-dir # not built"
    n=$((n + 2))
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

  n=$((n + 1))
  # Comment lines (.\") may say anything.
  bad=$(grep -v '^\.\\"' "$file" \
        | grep -o -e '\\([^ ][^ ]' -e '\\\[[^]]*\]' \
        | sed -e 's/^\\(//' -e 's/^\\\[\(.*\)\]$/\1/' | sort -u \
        | while read -r name; do
            case " $allowed " in
              *" $name "*) ;;
              *) printf '%s ' "$name" ;;
            esac
          done)
  if [ -z "$bad" ]; then
    echo "ok $n - $page escapes"
  else
    echo "not ok $n - $page escapes"
    for name in $bad; do
      shown=$(printf '.pl 1\n\\[%s]\n' "$name" | LC_ALL=C.UTF-8 groff -Tutf8 2>/dev/null \
              | sed -e '/^$/d' | head -n 1)
      echo "# \\($name draws '$shown': not one of: $allowed"
    done
    status=1
  fi

  n=$((n + 1))
  # Every path to the state directory as the reader sees it (-P-c: bold
  # and italics as overstrikes, removed here; wide lines: no path split):
  # one that starts before /var/lib/stox (/usr/local/var/lib/stox,
  # /_inst/var/lib/stox) is the prefix showing through.
  prefixed=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -P-c -rLL=200n "$file" 2>/dev/null \
             | sed -e 's/.\x08//g' \
             | grep -o '[^[:space:]]*lib/stox[^[:space:]]*' \
             | sed -e 's/^[("'\''`]*//' \
             | grep -v '^/var/lib/stox')
  if [ -z "$prefixed" ]; then
    echo "ok $n - $page state-dir"
  else
    echo "not ok $n - $page state-dir"
    printf '%s\n' "$prefixed" | sed -e 's/^/# state directory shown under the prefix: /'
    status=1
  fi
done
exit $status
