#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one libFuzzer target of tests/fuzz for $FUZZ_SECONDS and reports it
# as TAP, one line: "ok 1 - NAME: N executions in S s" or "not ok" with the
# input that broke it.  Called by `make fuzz` with the target's options
# file (tests/fuzz/NAME.fuzz: libFuzzer flags, one per line, '#' comments,
# @srcdir@ for tests/fuzz in the source tree).
#
# Environment: FUZZ_SECONDS (default 60), FUZZ_BUILDDIR (the build's
# tests/fuzz, where fuzz-NAME is), FUZZ_WORKDIR (where the corpus grows
# and crashing inputs are kept; default FUZZ_BUILDDIR/../../fuzz-work).
set -u
spec=$1
name=$(basename "$spec" .fuzz)
srcdir=$(cd "$(dirname "$spec")" && pwd)
builddir=${FUZZ_BUILDDIR:-tests/fuzz}
seconds=${FUZZ_SECONDS:-60}
work=${FUZZ_WORKDIR:-$builddir/../../fuzz-work}
bin=$builddir/fuzz-$name

echo "1..1"
if [ ! -x "$bin" ]; then
  echo "not ok 1 - $name: $bin is not built (configure --enable-fuzzing CC=clang)"
  exit 0
fi
mkdir -p "$work/corpus/$name" "$work/crashes/$name" || exit 1
log=$work/$name.log
dirs="$work/corpus/$name $srcdir/corpus/$name"
[ -d "$srcdir/regressions/$name" ] && dirs="$dirs $srcdir/regressions/$name"
opts=$(grep -v '^[[:space:]]*#' "$spec" | sed "s|@srcdir@|$srcdir|g")

# -timeout: one input taking 10 s is a finding (a hang), not patience.
# shellcheck disable=SC2086
"$bin" $opts -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/$name/" $dirs >"$log" 2>&1
status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
if [ "$status" -eq 0 ] && [ -n "$execs" ]; then
  echo "ok 1 - $name: ${execs} executions in ${seconds} s (peak RSS ${peak:-?} MB)"
  exit 0
fi
echo "not ok 1 - $name: fuzzer exited with status $status after ${execs:-?} executions"
for f in "$work/crashes/$name"/*; do
  [ -f "$f" ] && echo "# input kept: $f (replay: $bin $f)"
done
# The report: from the sanitizer's or the check's first line on.
grep -n -m1 -E '==ERROR|runtime error:|broken promise|GLib (warning|critical)|deadly signal|Timeout' "$log" \
  | head -1 | sed 's/^/# first report at line /'
sed -n '/==ERROR\|runtime error:\|broken promise\|GLib warning\|GLib critical\|deadly signal\|ALARM/,$p' "$log" \
  | head -60 | sed 's/^/# /'
# "not ok" is the failure; a non-zero status would count it twice (ERROR).
exit 0
