#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The load table (bench/README.md, "bench-load.sh"): stoxd under sustained
# and burst load on loopback, each figure beside the same load through two
# baselines measured in the same run:
#
#   sipp      sipp UAC ──────────────────────────────► sipp UAS
#   kamailio  sipp UAC ──► Kamailio (tm t_relay) ────► sipp UAS
#   stox      sipp UAC ──► stoxd ──XEP-0114──► xmpp-peer (bench/xmpp-peer.c)
#
# Rows (each target in fresh processes, one target after the other):
#   burst     BURST_N MESSAGEs, at most WINDOW open at a time: msgs/s until
#             the last is answered; memory before, right after, and
#             TIMER_J_WAIT s later (RFC 3261 Timer J is 32 s over UDP).
#   sustain   RATE MESSAGEs/s for SUSTAIN_S s, open loop: 2xx/s over the
#             steady window, MESSAGEs never answered (within DRAIN_S after
#             the end), 503s, the sender's retransmissions, memory sampled
#             every second (peak; the curve in WORKDIR/sustain-<target>.mem).
#   latency   LAT_RATE/s for LAT_S s (default: half stoxd's burst rate):
#             one-way latency from sipp's [timestamp] in the body to the
#             moment the far end read it, p50/p99/max.
#   x2s       (stox) xmpp-peer writes X2S_N <message/>s to SIP users as fast
#             as the socket takes them; stoxd's MESSAGEs reach a sipp UAS
#             (its outbound proxy), which counts duplicates.  The baselines'
#             figures are their burst row's (SIP in, SIP out, window WINDOW).
#   subs      SUBS_N SIP watchers (bench/load-watch.xml) of XMPP users,
#             offered at SUB_RATE/s, all active (xmpp-peer approves; the
#             baselines' notifier is a sipp UAS, bench/load-notifier.xml):
#             set-up rate, and memory per held subscription TIMER_J_WAIT s
#             after the last one became active.
# "Memory" is the VmRSS of stoxd, of the sipp UAS (sipp), and the Pss summed
# over Kamailio's processes (its shared memory counted once).
#
#   bench/bench-load.sh [--quick]
#
# --quick: BURST_N 20000, SUSTAIN_S 8, LAT_S 5, X2S_N 20000, SUBS_N 10000,
# DRAIN_S 8, and the burst's and the watchers' memory read after one common
# wait (about 2.5 minutes on a quiet machine).  Environment (BENCH_ prefix):
# BURST_N (100000), WINDOW (10000), RATE (20000), SUSTAIN_S (60), LAT_RATE
# (half of stoxd's burst rate), LAT_S (20), X2S_N (100000), SUBS_N
# (100000), SUB_RATE (10000), TIMER_J_WAIT (35), DRAIN_S (35), RSS_CAP_MIB
# (8192: stoxd is killed beyond it, and the row says so), ROWS ("burst
# sustain latency x2s subs"), TARGETS ("sipp kamailio stox"), BOUNCE_WAIT
# (stoxd's default when unset), KAMAILIO_CHILDREN (2), KAMAILIO_OPTS ("-x fm
# -X fm": Kamailio's debug allocator, the Debian default, spends ~45 % of
# its time in qm_malloc under this load), SIPP_TRACE (sipp UASes write
# -trace_msg), MALLOC_PROBE (1 without --quick: once stoxd's memory after
# Timer J is read, gdb reads glibc's mallinfo2() and calls malloc_trim(0)),
# PERF (perf record -g on stoxd during the sustained, x2s and subs rows,
# into WORKDIR/perf-<row>-stox.data; PERF_FREQ, 199 Hz), WORKDIR
# (bench/_build/load).  STOXD and XMPP_PEER name the
# binaries (bench/run builds them).
#
# Every process is started here as a child and stopped by its PID; every
# socket is on 127.0.0.1; every wait is bounded.  Output: the table on
# stdout, progress on stderr, and "RESULT load.<row>.<target>.<key> value"
# lines in WORKDIR/results.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
QUICK=0
for a in "$@"; do
  case $a in
    --quick) QUICK=1;;
    *) echo "usage: bench/bench-load.sh [--quick]" >&2; exit 64;;
  esac
done
if [ $QUICK = 1 ]; then
  d_burst=20000 d_sustain=8 d_lat=5 d_x2s=20000 d_subs=10000 d_drain=8 LATE_S=3
else
  d_burst=100000 d_sustain=60 d_lat=20 d_x2s=100000 d_subs=100000 d_drain=35 LATE_S=5
fi
STOXD=${STOXD:-$HERE/_build/src/stoxd}
XMPP_PEER=${XMPP_PEER:-$HERE/_build/bench/xmpp-peer}
BURST_N=${BENCH_BURST_N:-$d_burst}
WINDOW=${BENCH_WINDOW:-10000}
RATE=${BENCH_RATE:-20000}
SUSTAIN_S=${BENCH_SUSTAIN_S:-$d_sustain}
LAT_RATE=${BENCH_LAT_RATE:-}
LAT_S=${BENCH_LAT_S:-$d_lat}
X2S_N=${BENCH_X2S_N:-$d_x2s}
SUBS_N=${BENCH_SUBS_N:-$d_subs}
SUB_RATE=${BENCH_SUB_RATE:-10000}
DRAIN=${BENCH_DRAIN_S:-$d_drain}
MALLOC_PROBE=${BENCH_MALLOC_PROBE:-$((1 - QUICK))}
JWAIT=${BENCH_TIMER_J_WAIT:-35}
RSS_CAP_MIB=${BENCH_RSS_CAP_MIB:-8192}
ROWS=${BENCH_ROWS:-"burst sustain latency x2s subs"}
TARGETS=${BENCH_TARGETS:-"sipp kamailio stox"}
BOUNCE_WAIT=${BENCH_BOUNCE_WAIT:-}
KAM_CHILDREN=${BENCH_KAMAILIO_CHILDREN:-2}
W=${BENCH_WORKDIR:-$HERE/_build/load}
PY=/usr/bin/python3
KAMAILIO=${STOX_KAMAILIO:-/usr/sbin/kamailio}
HZ=$(getconf CLK_TCK)

die () { echo "bench-load: $*" >&2; exit 1; }
for tool in sipp "$PY" "$KAMAILIO"; do
  command -v "$tool" >/dev/null || die "$tool is missing (tests/install-deps installs it)"
done
[ -x "$STOXD" ] || die "no stoxd at $STOXD (bench/run builds it)"
[ -x "$XMPP_PEER" ] || die "no xmpp-peer at $XMPP_PEER (bench/run builds it)"
[ "$SUSTAIN_S" -ge 4 ] || die "BENCH_SUSTAIN_S must be at least 4"

rm -rf "$W"
mkdir -p "$W"
: >"$W/results"
res () { echo "RESULT load.$1 $2" >>"$W/results"; }

# ---- processes: started here, stopped by PID ---------------------------------

PIDS=()
stop_pid () {   # PID [grace seconds]
  local pid=$1 grace=${2:-5} i
  [ -n "$pid" ] || return 0
  # (sipp 3.6 may abort on a double free while it exits with many calls
  # open; its statistics are written by then.  The braces keep bash's
  # job report out of the output.)
  kill -TERM "$pid" 2>/dev/null || { { wait "$pid"; } 2>/dev/null; return 0; }
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { { wait "$pid"; } 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
  return 0
}
forget_pid () {   # PID: stopped elsewhere
  local i
  for i in "${!PIDS[@]}"; do
    [ "${PIDS[$i]}" = "$1" ] && unset "PIDS[$i]"
  done
  return 0
}
stop () { stop_pid "$@"; forget_pid "$1"; }
cleanup () {
  local i keys=("${!PIDS[@]}")
  for ((i = ${#keys[@]} - 1; i >= 0; i--)); do
    stop_pid "${PIDS[${keys[$i]}]}"
  done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports () {   # N: N ports free for TCP and UDP on 127.0.0.1
  "$PY" - "$1" <<'EOF'
import socket, sys
out, held = [], []
while len(out) < int(sys.argv[1]):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close(); u.close(); continue
    held += [t, u]; out.append(port)
print(" ".join(map(str, out)))
EOF
}

now_ns () { date +%s%N; }
alive () { kill -0 "$1" 2>/dev/null; }

# the process and all its descendants (Kamailio forks its workers)
tree () {
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done
}
rss_kib () { awk '/^VmRSS:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_tree_kib () {
  local t=0 p v
  for p in $(tree "$1"); do
    v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
cpu_ticks_tree () {   # utime + stime of the process and its descendants
  local t=0 p v
  for p in $(tree "$1"); do
    v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# MEM_PID / MEM_KIND: what "memory" means for the target under test
mem_kib () {
  if [ "$MEM_KIND" = pss ]; then pss_tree_kib "$MEM_PID"; else rss_kib "$MEM_PID"; fi
}

wait_tcp () {   # PORT SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Fresh ports for each row, one set per target: the burst and subs rows keep
# a target's processes (and, with --quick, a whole row's) while the next
# ones run.
row_ports () {
  read -r P_UAC P_U1 P_U2 P_U3 P_W1 P_W2 P_W3 P_KAM P_STOX P_PEER P_CTL <<<"$(free_ports 11)"
}
SECRET="bench-$RANDOM$RANDOM"
SIPP_COMMON=(-i 127.0.0.1 -t u1 -nostdin -trace_counts -trace_stat -fd 1 -buff_size 4194304
             -watchdog_major_maxtriggers 1000000 -watchdog_minor_maxtriggers 1000000)

# ---- xmpp-peer: one with each stoxd ----------------------------------------------

peer () {   # COMMAND...: one line back from the current stoxd's xmpp-peer
  local line
  exec 4<>"/dev/tcp/127.0.0.1/$P_CTL" || { echo "error"; return 1; }
  echo "$*" >&4
  read -r -t 10 line <&4
  exec 4>&-
  echo "$line"
}
peer_get () {   # KEY [STATS-LINE]: one value of "stats" (or of the line given)
  local line=${2:-$(peer stats)}
  tr ' ' '\n' <<<"$line" | awk -F= -v k="$1" '$1 == k { print $2 }'
}

# ---- the targets' processes ---------------------------------------------------

# start_uas DIR SCENARIO PORT: a sipp UAS; sets UAS_PID
start_uas () {
  mkdir -p "$1"
  (cd "$1" && exec sipp -sf "$HERE/$2" -p "$3" -trace_logs ${BENCH_SIPP_TRACE:+-trace_msg} "${SIPP_COMMON[@]}") >/dev/null 2>"$1/sipp.err" &
  UAS_PID=$!
  PIDS+=("$UAS_PID")
  sleep 0.3
  alive "$UAS_PID" || { cat "$1/sipp.err" >&2; die "sipp UAS did not start"; }
}

# start_kamailio DIR PORT NEXT_PORT: stateful relay of every request to the
# sipp UAS on NEXT_PORT, in-dialog ones (the notifier's NOTIFYs) to their
# Request-URI; sets KAM_PID
start_kamailio () {
  local d=$1
  mkdir -p "$d"
  cat >"$d/kamailio.cfg" <<EOF
#!KAMAILIO
# generated by bench/bench-load.sh: t_relay, nothing else
debug=1
log_stderror=yes
memdbg=5
memlog=5
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
dns_try_ipv6=no
maxbuffer=4194304
listen=udp:127.0.0.1:$2

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (method == "ACK") {
		# an ACK of a late final response has no transaction here, and
		# its Request-URI host would be resolved (blocking) to relay it
		if (t_check_trans()) t_relay();
		exit;
	}
	if (has_totag()) {
		# the notifier's NOTIFYs: to the watcher's Contact; nothing else
		# is relayed by its Request-URI (no name is ever resolved)
		if (\$rd != "127.0.0.1") {
			sl_send_reply("404", "Not here");
			exit;
		}
		if (!t_relay()) sl_reply_error();
		exit;
	}
	\$du = "sip:127.0.0.1:$3";
	if (!t_relay()) sl_reply_error();
}
EOF
  (cd "$d" && exec "$KAMAILIO" -f "$d/kamailio.cfg" -DD -E -n "$KAM_CHILDREN" -m 1024 -M 16 ${BENCH_KAMAILIO_OPTS--x fm -X fm} \
     -Y "$d" -w "$d" -P "$d/pid") >"$d/kamailio.log" 2>&1 &
  KAM_PID=$!
  PIDS+=("$KAM_PID")
  local i
  for ((i = 0; i < 50; i++)); do
    [ "$(tree "$KAM_PID" | wc -l)" -gt "$KAM_CHILDREN" ] && break
    sleep 0.1
  done
  sleep 0.5
  alive "$KAM_PID" || { tail -20 "$d/kamailio.log" >&2; die "Kamailio did not start"; }
}

# start_stoxd DIR PORT [OUTBOUND_PROXY_PORT]: an xmpp-peer (PEER_PID) and
# stoxd connected to it (STOXD_PID), once the component link is up
start_stoxd () {
  local d=$1 proxy= i
  mkdir -p "$d/rules.d" "$d/state"
  "$XMPP_PEER" --port "$P_PEER" --ctl-port "$P_CTL" --component sip.test --xmpp-domain xmpp.test \
    --secret "$SECRET" >"$d/xmpp-peer.log" 2>&1 &
  PEER_PID=$!
  PIDS+=("$PEER_PID")
  wait_tcp "$P_CTL" 10 || die "xmpp-peer did not open its control port"
  cp "$SRC"/gateway-rules/*.rules "$d/rules.d/"
  [ -z "${3:-}" ] || proxy="outbound-proxy = sip:127.0.0.1:$3;lr"
  cat >"$d/stox.conf" <<EOF
# generated by bench/bench-load.sh
[sip]
domain = sip.test
listen = sip:127.0.0.1:$2;transport=udp
$proxy

[xmpp]
component = sip.test
server = 127.0.0.1
port = $P_PEER
secret = $SECRET

[gateway]
rules = $d/rules.d
xmpp-domains = xmpp.test
state-dir = $d/state
# capacity, not policy: the one sipp source carries every watcher
max-subscriptions-per-source = 200000
EOF
  [ -z "$BOUNCE_WAIT" ] || sed -i "s/^\[gateway\]$/[gateway]\nbounce-wait = $BOUNCE_WAIT/" "$d/stox.conf"
  chmod 600 "$d/stox.conf"   # it holds the component secret
  (cd "$d" && exec env -u NOTIFY_SOCKET "$STOXD" -c "$d/stox.conf" --log-level=warning) \
    >"$d/stoxd.log" 2>&1 &
  STOXD_PID=$!
  PIDS+=("$STOXD_PID")
  for ((i = 0; i < 150; i++)); do
    [ "$(peer_get up)" = 1 ] && break
    alive "$STOXD_PID" || break
    sleep 0.1
  done
  [ "$(peer_get up)" = 1 ] || { tail -20 "$d/stoxd.log" >&2; die "stoxd did not connect to xmpp-peer"; }
  sleep 0.3
}

# start_target TARGET ROW [UAS-SCENARIO]: the processes under test for one
# row; sets DST (the port the load goes to), MEM_PID, MEM_KIND, CPU_PID,
# STACK (the PIDs to stop afterwards) and SINK_DIR (where the SIP end
# writes its statistics)
start_target () {
  local t=$1 row=$2 scen=${3:-load-uas.xml} d=$W/$2-$1
  STACK=()
  case $t in
    sipp) P_UAS=$P_U1;;
    kamailio) P_UAS=$P_U2;;
    stox) P_UAS=$P_U3;;
  esac
  case $t in
    sipp)
      start_uas "$d/uas" "$scen" "$P_UAS"
      DST=$P_UAS MEM_PID=$UAS_PID MEM_KIND=rss CPU_PID=$UAS_PID SINK_DIR=$d/uas
      STACK=("$UAS_PID");;
    kamailio)
      start_uas "$d/uas" "$scen" "$P_UAS"
      STACK=("$UAS_PID")
      start_kamailio "$d/kamailio" "$P_KAM" "$P_UAS"
      DST=$P_KAM MEM_PID=$KAM_PID MEM_KIND=pss CPU_PID=$KAM_PID SINK_DIR=$d/uas
      STACK=("$KAM_PID" "${STACK[@]}");;
    stox)
      if [ "$row" = x2s ]; then
        start_uas "$d/uas" "$scen" "$P_UAS"
        STACK=("$UAS_PID")
        start_stoxd "$d/stoxd" "$P_STOX" "$P_UAS"
      else
        start_stoxd "$d/stoxd" "$P_STOX"
      fi
      SINK_DIR=$d/uas
      DST=$P_STOX MEM_PID=$STOXD_PID MEM_KIND=rss CPU_PID=$STOXD_PID
      STACK=("$STOXD_PID" "$PEER_PID" "${STACK[@]}");;
  esac
}
stop_stack () {   # PID...: the first one is the target (stoxd gets 10 s)
  local p first=1
  for p in "$@"; do
    if [ $first = 1 ]; then stop "$p" 10; else stop "$p" 5; fi
    first=0
  done
}

# ---- sipp's statistics ---------------------------------------------------------

csv_last () {   # FILE COLUMN: the column's value in the last row
  awk -F';' -v want="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == want) c = i; next }
    { v = $c } END { print (c ? v + 0 : 0) }' "$1" 2>/dev/null || echo 0
}
counts_of () { ls "$1"/*_counts.csv 2>/dev/null | head -1; }
stat_of () { ls "$1"/*_.csv 2>/dev/null | head -1; }
# COUNTS-CSV T1 T2 COLUMN...: the summed columns' rate between the rows
# nearest after T1 and before T2 (epoch seconds; sipp writes a row a second)
csv_rate () {
  local f=$1 lo=$2 hi=$3
  shift 3
  awk -F';' -v lo="$lo" -v hi="$hi" -v want="$*" '
    NR == 1 { n = split(want, w, " "); for (i = 1; i <= NF; i++) for (j = 1; j <= n; j++) if ($i == w[j]) c[j] = i; next }
    {
      split($1, t, "\t"); e = t[3] + 0; v = 0
      for (j = 1; j <= n; j++) if (c[j]) v += $c[j]
      if (e >= lo && !have) { e1 = e; v1 = v; have = 1 }
      if (e <= hi) { e2 = e; v2 = v }
    }
    END { if (have && e2 > e1) printf "%.0f", (v2 - v1) / (e2 - e1); else print 0 }' "$f"
}

# busy and total jiffies of the whole machine (all cores, every tenant)
box_ticks () { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# run_uac DIR PORT N RATE LIMIT TIMEOUT: the MESSAGE sender, in the
# foreground; sets UAC_T0 and UAC_T1 (ns), OK, R503, FAILED, RETRANS, SENT,
# and BOX (the machine's CPU meanwhile, 100 per core, every tenant)
run_uac () {
  local d=$1 bb1 bt1 bb2 bt2
  mkdir -p "$d"
  read -r bb1 bt1 <<<"$(box_ticks)"
  UAC_T0=$(now_ns)
  (cd "$d" && exec sipp "127.0.0.1:$2" -sf "$HERE/load-uac.xml" -s bob -p "$P_UAC" -default_behaviors -bye \
     -m "$3" -r "$4" -l "$5" -max_non_invite_retrans 10 -timeout "$6" "${SIPP_COMMON[@]}") \
    >/dev/null 2>"$d/sipp.err" &
  local pid=$!
  PIDS+=("$pid")
  wait "$pid"
  forget_pid "$pid"
  UAC_T1=$(now_ns)
  read -r bb2 bt2 <<<"$(box_ticks)"
  BOX=$(( (bb2 - bb1) * 100 * $(nproc) / (bt2 - bt1 > 0 ? bt2 - bt1 : 1) ))
  uac_totals "$d"
}
uac_totals () {
  local c s
  c=$(counts_of "$1") s=$(stat_of "$1")
  SENT=$(csv_last "$c" 0_MESSAGE_Sent)
  R503=$(csv_last "$c" 1_503_Recv)
  OK=$(( $(csv_last "$c" 2_200_Recv) + $(csv_last "$c" 3_202_Recv) ))
  RETRANS=$(csv_last "$s" "Retransmissions(C)")
  FAILED=$(csv_last "$s" "FailedCall(C)")
}
# duplicates the sipp UAS in DIR saw: retransmissions of a MESSAGE it had
# answered, while it kept the call (8 s) or after (a dead call's message)
uas_dups () {
  local c s
  c=$(counts_of "$1") s=$(stat_of "$1")
  echo $(( $(csv_last "$c" 0_MESSAGE_Retrans) + $(csv_last "$s" "DeadCallMsgs(C)") ))
}
uas_calls () { csv_last "$(counts_of "$1")" 0_MESSAGE_Recv; }

mib () { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
rate_of () { awk -v n="$1" -v t0="$2" -v t1="$3" 'BEGIN { if (t1 > t0) printf "%.0f", n * 1e9 / (t1 - t0); else print 0 }'; }

# ---- the rows --------------------------------------------------------------------

declare -A V   # V[row.target.key]

# malloc_probe PID: what glibc's heap holds (mallinfo2 through gdb: in use,
# free, free chunks), then the RSS after malloc_trim(0).  Sets MP (a
# "key=value ..." line), empty without gdb.  Run only once the figure is
# read: the trim changes the process.
malloc_probe () {
  local out
  MP=
  [ "$MALLOC_PROBE" = 1 ] && command -v gdb >/dev/null || return 0
  out=$(timeout 60 gdb -p "$1" -batch -ex 'p mallinfo2()' -ex 'p (int) malloc_trim(0)' 2>/dev/null |
    awk '/^\$1 = / { gsub(/[{},]/, ""); for (i = 1; i <= NF; i++) { split($i, kv, " "); }
           for (i = 3; i <= NF; i += 3) v[$i] = $(i + 2); print v["arena"], v["uordblks"], v["fordblks"], v["ordblks"] + v["smblks"] }')
  [ -n "$out" ] || return 0
  local arena used free chunks
  read -r arena used free chunks <<<"$out"
  MP="heap=$((arena / 1024)) in_use=$((used / 1024)) free=$((free / 1024)) free_chunks=$chunks rss_after_trim=$(rss_kib "$1")"
}

# Rows whose memory is read TIMER_J_WAIT s after their load keep their
# processes meanwhile: "row target t1 mem-pid mem-kind pid..." per target.
PENDING=()

# measure_pending: each pending target's memory JWAIT s after its load
# ended (in that order: the targets that ran earlier idle meanwhile), then
# its processes stopped
measure_pending () {
  local e row t t1 stack left
  for e in "${PENDING[@]}"; do
    read -r row t t1 MEM_PID MEM_KIND stack <<<"$e"
    left=$(( (t1 + JWAIT * 1000000000 - $(now_ns)) / 1000000 ))
    [ "$left" -le 0 ] || sleep "$(awk -v m="$left" 'BEGIN { printf "%.3f", m / 1000 }')"
    V[$row.$t.mem2]=$(mem_kib)
    alive "$MEM_PID" || V[$row.$t.mem2]=died
    if [ "$t" = stox ] && alive "$MEM_PID"; then
      malloc_probe "$MEM_PID"
      V[$row.$t.malloc]=$MP
      [ -z "$MP" ] || echo "bench-load:   $row stox after ${JWAIT} s: RSS ${V[$row.$t.mem2]} KiB; glibc (KiB): $MP" >&2
    fi
    if [ "$row" = subs ]; then
      V[subs.$t.per_sub]=$(awk -v a="${V[subs.$t.mem0]}" -v b="${V[subs.$t.mem2]}" -v n="${V[subs.$t.active]}" \
        'BEGIN { if (n > 0 && b ~ /^[0-9]+$/) printf "%.0f", (b - a) * 1024 / n; else print "-" }')
    fi
    # shellcheck disable=SC2086
    stop_stack $stack
  done
  PENDING=()
}

row_burst () {
  local t
  row_ports
  echo "bench-load: burst: $BURST_N MESSAGEs, window $WINDOW" >&2
  for t in $TARGETS; do
    start_target "$t" burst
    local m0 m1 c0 c1 p0=0 p1=0 d=$W/burst-$t
    m0=$(mem_kib); c0=$(cpu_ticks_tree "$CPU_PID")
    [ "$t" != stox ] || p0=$(cpu_ticks_tree "$PEER_PID")
    run_uac "$d/uac" "$DST" "$BURST_N" 1000000 "$WINDOW" $((BURST_N / 1000 + DRAIN))
    m1=$(mem_kib); c1=$(cpu_ticks_tree "$CPU_PID")
    V[burst.$t.rate]=$(rate_of "$OK" "$UAC_T0" "$UAC_T1")
    V[burst.$t.ok]=$OK V[burst.$t.r503]=$R503 V[burst.$t.retrans]=$RETRANS
    V[burst.$t.failed]=$((SENT - OK - R503))
    V[burst.$t.mem0]=$m0 V[burst.$t.mem1]=$m1
    V[burst.$t.us_per_msg]=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$OK" 'BEGIN { if (n) printf "%.1f", c * 1e6 / hz / n; else print "-" }')
    if [ "$t" = stox ]; then
      p1=$(cpu_ticks_tree "$PEER_PID")
      # what the stand-in XMPP server cost (it is not what is measured)
      V[burst.$t.peer_us_per_msg]=$(awk -v c=$((p1 - p0)) -v hz="$HZ" -v n="$OK" 'BEGIN { if (n) printf "%.1f", c * 1e6 / hz / n; else print "-" }')
      V[burst.$t.delivered]=$(peer_get msg)
      V[burst.$t.dups]=$(( $(peer_get msg) - OK > 0 ? $(peer_get msg) - OK : 0 ))
    else
      sleep 1.1   # the UAS writes its counts once a second
      V[burst.$t.delivered]=$(uas_calls "$SINK_DIR")
      V[burst.$t.dups]=$(uas_dups "$SINK_DIR")
    fi
    printf 'bench-load:   %-8s %6s/s  ok %s  503 %s  failed %s  retrans %s  delivered %s  mem %s -> %s KiB  cpu %s us/msg%s  box %s%%\n' \
      "$t" "${V[burst.$t.rate]}" "$OK" "$R503" "${V[burst.$t.failed]}" "$RETRANS" "${V[burst.$t.delivered]}" "$m0" "$m1" \
      "${V[burst.$t.us_per_msg]}" "${V[burst.$t.peer_us_per_msg]:+ (xmpp-peer ${V[burst.$t.peer_us_per_msg]})}" "$BOX" >&2
    PENDING+=("burst $t $UAC_T1 $MEM_PID $MEM_KIND ${STACK[*]}")
    # The full run measures each target and stops it before the next
    # starts: a baseline left holding 100 000 dialogs shared the machine
    # with the next target's row (bench/README.md).
    [ $QUICK = 1 ] || measure_pending
  done
}

# perf_start ROW: with BENCH_PERF, perf record -g of stoxd (STOXD_PID) into
# WORKDIR/perf-ROW-stox.data until perf_stop (bench/README.md, "Profile")
PERF_PID=
perf_start () {
  [ -n "${BENCH_PERF:-}" ] || return 0
  perf record -q -g --call-graph dwarf,16384 -F "${BENCH_PERF_FREQ:-199}" -p "$STOXD_PID" \
    -o "$W/perf-$1-stox.data" >"$W/perf-$1-stox.log" 2>&1 &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
}
perf_stop () {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null
  wait "$PERF_PID" 2>/dev/null
  forget_pid "$PERF_PID"
  PERF_PID=
}

# sample_mem OUT PID KIND CAP_KIB: one line "seconds KiB" a second; kills
# PID (SIGKILL) above CAP_KIB (0: never) and writes OUT.capped
sample_mem () {
  local out=$1 pid=$2 kind=$3 cap=$4 t0 v
  t0=$(now_ns)
  MEM_PID=$pid MEM_KIND=$kind
  while alive "$pid"; do
    v=$(mem_kib)
    echo "$(awk -v a="$(now_ns)" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) / 1e9 }') $v" >>"$out"
    if [ "$cap" -gt 0 ] && [ "$v" -gt "$cap" ]; then
      echo "$v" >"$out.capped"
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 1
  done
}

row_sustain () {
  local t
  row_ports
  echo "bench-load: sustain: $RATE MESSAGE/s for $SUSTAIN_S s" >&2
  for t in $TARGETS; do
    start_target "$t" sustain
    local d=$W/sustain-$t curve=$W/sustain-$t.mem cap=0 spid c0 c1 lo hi
    [ "$t" != stox ] || cap=$((RSS_CAP_MIB * 1024))
    : >"$curve"
    sample_mem "$curve" "$MEM_PID" "$MEM_KIND" "$cap" &
    spid=$!
    PIDS+=("$spid")
    c0=$(cpu_ticks_tree "$CPU_PID")
    [ "$t" != stox ] || perf_start sustain
    run_uac "$d/uac" "$DST" $((RATE * SUSTAIN_S)) "$RATE" $((RATE * 40)) $((SUSTAIN_S + DRAIN))
    perf_stop
    c1=$(cpu_ticks_tree "$CPU_PID")
    lo=$(awk -v t="$UAC_T0" 'BEGIN { printf "%.3f", t / 1e9 + 1 }')
    hi=$(awk -v t="$UAC_T0" -v s="$SUSTAIN_S" 'BEGIN { printf "%.3f", t / 1e9 + s - 1 }')
    V[sustain.$t.rate]=$(csv_rate "$(counts_of "$d/uac")" "$lo" "$hi" 2_200_Recv 3_202_Recv)
    V[sustain.$t.sent_rate]=$(csv_rate "$(counts_of "$d/uac")" "$lo" "$hi" 0_MESSAGE_Sent)
    V[sustain.$t.ok]=$OK V[sustain.$t.r503]=$R503 V[sustain.$t.failed]=$((SENT - OK - R503))
    V[sustain.$t.retrans]=$RETRANS V[sustain.$t.sent]=$SENT
    V[sustain.$t.cpu_pct]=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v a="$UAC_T0" -v b="$UAC_T1" 'BEGIN { printf "%.0f", 100 * c / hz / ((b - a) / 1e9) }')
    stop "$spid" 1
    V[sustain.$t.peak]=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$curve")
    V[sustain.$t.mem_end]=$(tail -1 "$curve" | awk '{ print $2 + 0 }')
    V[sustain.$t.capped]=
    [ ! -f "$curve.capped" ] || V[sustain.$t.capped]="killed at $(mib "$(cat "$curve.capped")") MiB"
    alive "$MEM_PID" || [ -n "${V[sustain.$t.capped]}" ] || V[sustain.$t.capped]="died"
    [ "$t" != stox ] || V[sustain.$t.delivered]=$(peer_get msg)
    printf 'bench-load:   %-8s sent %s/s, 2xx %s/s  ok %s  503 %s  failed %s  retrans %s  peak %s KiB  cpu %s%%  box %s%% %s\n' \
      "$t" "${V[sustain.$t.sent_rate]}" "${V[sustain.$t.rate]}" "$OK" "$R503" "${V[sustain.$t.failed]}" "$RETRANS" \
      "${V[sustain.$t.peak]}" "${V[sustain.$t.cpu_pct]}" "$BOX" "${V[sustain.$t.capped]}" >&2
    # shellcheck disable=SC2086
    stop_stack ${STACK[*]}
  done
}

# percentiles of the one-way latencies a sipp UAS logged (load-uas-log.xml:
# "R <date> <time> <recv epoch> ts=<date> <time> <sent epoch>")
uas_latency () {
  awk '$1 == "R" && $5 ~ /^ts=/ {
      split($4, a, "."); split($7, b, ".")
      print (a[1] - b[1]) * 1000000 + (a[2] - b[2])
    }' "$1"/*_logs.log 2>/dev/null | sort -n | awk '
    { v[NR] = $1; s += $1 }
    END {
      if (NR == 0) { print "n=0 p50_us=0 p99_us=0 max_us=0"; exit }
      i50 = int(0.50 * NR) + 1; i99 = int(0.99 * NR) + 1; if (i99 > NR) i99 = NR; if (i50 > NR) i50 = NR
      printf "n=%d p50_us=%d p99_us=%d max_us=%d\n", NR, v[i50], v[i99], v[NR]
    }'
}

row_latency () {
  local t rate=$LAT_RATE
  if [ -z "$rate" ]; then
    rate=$(( ${V[burst.stox.rate]:-0} / 2 / 100 * 100 ))
    [ "$rate" -ge 1000 ] || rate=$((RATE / 2))
  fi
  V[latency.rate]=$rate
  row_ports
  echo "bench-load: latency: $rate MESSAGE/s for $LAT_S s" >&2
  for t in $TARGETS; do
    start_target "$t" latency load-uas-log.xml
    local d=$W/latency-$t line
    run_uac "$d/uac" "$DST" $((rate * LAT_S)) "$rate" $((rate * 40)) $((LAT_S + DRAIN))
    if [ "$t" = stox ]; then
      line=$(peer lat)
    else
      sleep 1.5   # sipp flushes its log
      line=$(uas_latency "$SINK_DIR")
    fi
    V[latency.$t.n]=$(peer_get n "$line")
    V[latency.$t.p50]=$(peer_get p50_us "$line")
    V[latency.$t.p99]=$(peer_get p99_us "$line")
    V[latency.$t.max]=$(peer_get max_us "$line")
    V[latency.$t.ok]=$OK V[latency.$t.failed]=$((SENT - OK - R503)) V[latency.$t.retrans]=$RETRANS
    printf 'bench-load:   %-8s %s  (ok %s, failed %s, retrans %s, box %s%%)\n' "$t" "$line" "$OK" "${V[latency.$t.failed]}" "$RETRANS" "$BOX" >&2
    # shellcheck disable=SC2086
    stop_stack ${STACK[*]}
  done
}

row_x2s () {
  case " $TARGETS " in *" stox "*) ;; *) return;; esac
  row_ports
  echo "bench-load: x2s: xmpp-peer writes $X2S_N <message/>s as fast as the socket takes them" >&2
  start_target stox x2s load-uas-log.xml
  local d=$W/x2s-stox log= n=0 last=-1 still=0 i t0 t1 stats m0 c0 c1
  m0=$(mem_kib); c0=$(cpu_ticks_tree "$CPU_PID")
  perf_start x2s
  peer "send $X2S_N 0 1000" >/dev/null
  for ((i = 0; i < 3000; i++)); do   # at most 300 s; gives up after DRAIN s without progress
    sleep 0.1
    [ -n "$log" ] || log=$(ls "$SINK_DIR"/*_logs.log 2>/dev/null | head -1)
    n=0
    [ -z "$log" ] || n=$(grep -c '^R ' "$log")
    [ "$n" -lt "$X2S_N" ] || break
    if [ "$n" = "$last" ]; then
      still=$((still + 1))
      [ "$still" -lt $((DRAIN * 10)) ] || break
    else
      still=0 last=$n
    fi
    alive "$STOXD_PID" || break
  done
  perf_stop
  c1=$(cpu_ticks_tree "$CPU_PID")
  stats=$(peer stats)
  t0=$(peer_get send_t0_ns "$stats")
  # the last MESSAGE's arrival, from the UAS's log (epoch with microseconds)
  t1=$(awk '$1 == "R" { e = $4 } END { split(e, a, "."); printf "%d%06d000", a[1], a[2] }' "$log" 2>/dev/null)
  sleep "$LATE_S"   # late retransmissions still count as duplicates
  V[x2s.stox.delivered]=$n
  V[x2s.stox.rate]=$(rate_of "$n" "$t0" "$t1")
  V[x2s.stox.dups]=$(uas_dups "$SINK_DIR")
  V[x2s.stox.errors]=$(peer_get msg_err)
  V[x2s.stox.written_s]=$(awk -v a="$t0" -v b="$(peer_get send_t1_ns "$stats")" 'BEGIN { if (b > a) printf "%.2f", (b - a) / 1e9; else print "-" }')
  V[x2s.stox.mem0]=$m0 V[x2s.stox.mem1]=$(mem_kib)
  V[x2s.stox.us_per_msg]=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN { if (n) printf "%.1f", c * 1e6 / hz / n; else print "-" }')
  printf 'bench-load:   stox     %s/s  delivered %s  duplicates %s  XMPP errors %s (%s)  socket took all in %s s\n' \
    "${V[x2s.stox.rate]}" "$n" "${V[x2s.stox.dups]}" "${V[x2s.stox.errors]}" \
    "$(peer_get last_error | cut -c1-120)" "${V[x2s.stox.written_s]}" >&2
  # shellcheck disable=SC2086
  stop_stack ${STACK[*]}
}

row_subs () {
  local t port
  row_ports
  echo "bench-load: subs: $SUBS_N SIP watchers, offered at $SUB_RATE/s" >&2
  for t in $TARGETS; do
    case $t in sipp) port=$P_W1;; kamailio) port=$P_W2;; stox) port=$P_W3;; esac
    start_target "$t" subs load-notifier.xml
    local d=$W/subs-$t log= n=0 last=-1 still=0 i t0 t1 m0 c0 c1 wpid
    m0=$(mem_kib)
    mkdir -p "$d/watch"
    [ "$t" != stox ] || perf_start subs
    c0=$(cpu_ticks_tree "$CPU_PID")
    t0=$(now_ns)
    (cd "$d/watch" && exec sipp "127.0.0.1:$DST" -sf "$HERE/load-watch.xml" -p "$port" \
       -m "$SUBS_N" -r "$SUB_RATE" -l $((SUBS_N + 10)) -trace_logs ${BENCH_SIPP_TRACE:+-trace_msg} "${SIPP_COMMON[@]}") \
      >/dev/null 2>"$d/watch/sipp.err" &
    wpid=$!
    PIDS+=("$wpid")
    for ((i = 0; i < 6000; i++)); do   # at most 600 s; gives up after DRAIN s without progress
      sleep 0.1
      [ -n "$log" ] || log=$(ls "$d"/watch/*_logs.log 2>/dev/null | head -1)
      n=0
      [ -z "$log" ] || n=$(grep -c '^A ' "$log")
      [ "$n" -lt "$SUBS_N" ] || break
      if [ "$n" = "$last" ]; then
        still=$((still + 1))
        [ "$still" -lt $((DRAIN * 10)) ] || break
      else
        still=0 last=$n
      fi
      alive "$wpid" || break
    done
    c1=$(cpu_ticks_tree "$CPU_PID")
    perf_stop
    t1=$(awk '$1 == "A" { e = $4 } END { split(e, a, "."); printf "%d%06d000", a[1], a[2] }' "$log" 2>/dev/null)
    [ "$n" -gt 0 ] || t1=$(now_ns)
    V[subs.$t.active]=$n
    V[subs.$t.refused]=$( [ -z "$log" ] && echo 0 || grep -c '^R ' "$log")
    V[subs.$t.rate]=$(rate_of "$n" "$t0" "$t1")
    # The notifier's CPU per active subscription while they were set up:
    # steadier than the rate on a shared machine (bench/README.md).
    V[subs.$t.cpu_us]=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.0f", (n > 0 ? 1e6 * c / hz / n : 0) }')
    V[subs.$t.mem0]=$m0 V[subs.$t.mem1]=$(mem_kib)
    [ "$t" != stox ] || V[subs.$t.peer]="subscribe $(peer_get subscribe), probe $(peer_get probe)"
    printf 'bench-load:   %-8s active %s in %s s (%s SUBSCRIBEs answered 503, sent again): %s/s  cpu %s us/sub  mem %s -> %s KiB  %s\n' "$t" "$n" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')" "${V[subs.$t.refused]}" "${V[subs.$t.rate]}" "${V[subs.$t.cpu_us]}" \
      "$m0" "${V[subs.$t.mem1]}" "${V[subs.$t.peer]:-}" >&2
    PENDING+=("subs $t $t1 $MEM_PID $MEM_KIND ${STACK[*]} $wpid")
    [ $QUICK = 1 ] || measure_pending
  done
}

# ---- run -----------------------------------------------------------------------

for row in $ROWS; do
  case $row in
    burst|sustain|latency|x2s|subs) ;;
    *) die "unknown row $row (BENCH_ROWS)";;
  esac
done
started=$(now_ns)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-load: targets: $TARGETS; rows: $ROWS$([ $QUICK = 1 ] && echo ' (--quick)'); load average $LOAD_BEFORE" >&2
# --quick reads the burst's and the held subscriptions' memory after one
# common wait (the burst's processes idle while the watchers subscribe);
# the full run waits after each target of those two rows and stops it
# before the next target starts.
has_row () { case " $ROWS " in *" $1 "*) return 0;; esac; return 1; }
if [ $QUICK = 1 ]; then
  order="burst subs measure sustain latency x2s"
else
  order="burst measure sustain latency x2s subs measure"
fi
for row in $order; do
  case $row in
    measure) measure_pending; continue;;
  esac
  has_row "$row" || continue
  case $row in
    burst) row_burst;;
    sustain) row_sustain;;
    latency) row_latency;;
    x2s) row_x2s;;
    subs) row_subs;;
  esac
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( ($(now_ns) - started) / 1000000000 ))

# ---- the table -----------------------------------------------------------------

v () { echo "${V[$1]:--}"; }
ratio () {   # A B: A / B, or "-"
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'
}
# line LABEL STOX SIPP KAM [RATIO-STOX RATIO-SIPP RATIO-KAM]: one figure per
# target, and stox's ratio to each baseline (computed on the RATIO-* values
# when given, e.g. numbers behind a formatted figure)
line () {
  local rs=${5:-$2} rp=${6:-$3} rk=${7:-$4}
  printf '%-44s %16s %16s %16s %7s %7s\n' "$1" "$2" "$3" "$4" "$(ratio "$rs" "$rp")" "$(ratio "$rs" "$rk")"
}
ms () { awk -v u="$1" 'BEGIN { if (u ~ /^-?[0-9]+$/) printf "%.2f", u / 1000; else print "-" }'; }
lat3 () { echo "$(ms "$(v "latency.$1.p50")")/$(ms "$(v "latency.$1.p99")")/$(ms "$(v "latency.$1.max")")"; }
mibs () {   # KiB...: "a/b/c" in MiB (words such as "died" as they are)
  local x out=
  for x in "$@"; do
    [[ $x =~ ^[0-9]+$ ]] && x=$(mib "$x")
    out=${out:+$out/}$x
  done
  echo "$out"
}

echo
echo "== load table ($([ $QUICK = 1 ] && echo quick || echo full)), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${elapsed} s; load average $LOAD_BEFORE before, $LOAD_AFTER after =="
printf '%-44s %16s %16s %16s %7s %7s\n' "" "stox" "sipp->sipp" "sipp->kam->sipp" "x sipp" "x kam"
for row in $ROWS; do
  case $row in
    burst)
      line "S2X burst $BURST_N (window $WINDOW), msg/s" "$(v burst.stox.rate)" "$(v burst.sipp.rate)" "$(v burst.kamailio.rate)"
      line "  delivered / 503 / failed" \
        "$(v burst.stox.delivered)/$(v burst.stox.r503)/$(v burst.stox.failed)" \
        "$(v burst.sipp.delivered)/$(v burst.sipp.r503)/$(v burst.sipp.failed)" \
        "$(v burst.kamailio.delivered)/$(v burst.kamailio.r503)/$(v burst.kamailio.failed)" \
        "$(v burst.stox.delivered)" "$(v burst.sipp.delivered)" "$(v burst.kamailio.delivered)"
      line "  retransmissions (sender)" "$(v burst.stox.retrans)" "$(v burst.sipp.retrans)" "$(v burst.kamailio.retrans)"
      line "  memory MiB: idle/after/+${JWAIT}s" \
        "$(mibs "$(v burst.stox.mem0)" "$(v burst.stox.mem1)" "$(v burst.stox.mem2)")" \
        "$(mibs "$(v burst.sipp.mem0)" "$(v burst.sipp.mem1)" "$(v burst.sipp.mem2)")" \
        "$(mibs "$(v burst.kamailio.mem0)" "$(v burst.kamailio.mem1)" "$(v burst.kamailio.mem2)")" \
        "$(v burst.stox.mem2)" "$(v burst.sipp.mem2)" "$(v burst.kamailio.mem2)"
      line "  CPU us per MESSAGE (target only)" "$(v burst.stox.us_per_msg)" "$(v burst.sipp.us_per_msg)" "$(v burst.kamailio.us_per_msg)"
      [ -z "${V[burst.stox.malloc]:-}" ] || echo "  stoxd's glibc heap +${JWAIT}s (KiB): ${V[burst.stox.malloc]}"
      ;;
    sustain)
      line "S2X sustained $RATE/s ${SUSTAIN_S}s, 2xx/s" "$(v sustain.stox.rate)" "$(v sustain.sipp.rate)" "$(v sustain.kamailio.rate)"
      line "  sent/s (the sender's own rate)" "$(v sustain.stox.sent_rate)" "$(v sustain.sipp.sent_rate)" "$(v sustain.kamailio.sent_rate)"
      line "  failed / retransmissions / 503" \
        "$(v sustain.stox.failed)/$(v sustain.stox.retrans)/$(v sustain.stox.r503)" \
        "$(v sustain.sipp.failed)/$(v sustain.sipp.retrans)/$(v sustain.sipp.r503)" \
        "$(v sustain.kamailio.failed)/$(v sustain.kamailio.retrans)/$(v sustain.kamailio.r503)" \
        "$(v sustain.stox.retrans)" "$(v sustain.sipp.retrans)" "$(v sustain.kamailio.retrans)"
      line "  memory MiB: peak/end (curve: sustain-*.mem)" \
        "$(mibs "$(v sustain.stox.peak)" "$(v sustain.stox.mem_end)")" \
        "$(mibs "$(v sustain.sipp.peak)" "$(v sustain.sipp.mem_end)")" \
        "$(mibs "$(v sustain.kamailio.peak)" "$(v sustain.kamailio.mem_end)")" \
        "$(v sustain.stox.peak)" "$(v sustain.sipp.peak)" "$(v sustain.kamailio.peak)"
      line "  CPU % of one core (target only)" "$(v sustain.stox.cpu_pct)" "$(v sustain.sipp.cpu_pct)" "$(v sustain.kamailio.cpu_pct)"
      [ -z "${V[sustain.stox.capped]:-}" ] || echo "  stoxd: ${V[sustain.stox.capped]} (BENCH_RSS_CAP_MIB=$RSS_CAP_MIB)"
      over=
      for t in $TARGETS; do
        awk -v f="${V[sustain.$t.failed]:-0}" -v n="$((RATE * SUSTAIN_S))" -v s="${V[sustain.$t.sent_rate]:-0}" \
          -v a="${V[sustain.$t.rate]:-0}" -v r="$RATE" \
          'BEGIN { exit !(f > 0.01 * n || s < 0.95 * r || a < 0.95 * r) }' && over="$over $t"
      done
      [ -z "$over" ] || echo "  overloaded at $RATE/s (2xx/s or the sender below 95 % of the rate, or over 1 % never answered):$over"
      case " $over " in *" sipp "*) echo "  (sipp -> sipp too: this machine could not carry the rate at all in this run)";; esac
      ;;
    latency)
      line "latency at $(v latency.rate)/s, ms p50/p99/max" "$(lat3 stox)" "$(lat3 sipp)" "$(lat3 kamailio)" \
        "$(v latency.stox.p99)" "$(v latency.sipp.p99)" "$(v latency.kamailio.p99)"
      line "  samples / failed" "$(v latency.stox.n)/$(v latency.stox.failed)" \
        "$(v latency.sipp.n)/$(v latency.sipp.failed)" "$(v latency.kamailio.n)/$(v latency.kamailio.failed)" \
        "$(v latency.stox.n)" "$(v latency.sipp.n)" "$(v latency.kamailio.n)"
      ;;
    x2s)
      line "X2S $X2S_N stanzas, msg/s (baselines: burst)" "$(v x2s.stox.rate)" "$(v burst.sipp.rate)" "$(v burst.kamailio.rate)"
      line "  duplicates at the SIP side" "$(v x2s.stox.dups)" "$(v burst.sipp.dups)" "$(v burst.kamailio.dups)"
      line "  delivered / XMPP errors" "$(v x2s.stox.delivered)/$(v x2s.stox.errors)" \
        "$(v burst.sipp.delivered)/-" "$(v burst.kamailio.delivered)/-" \
        "$(v x2s.stox.delivered)" "$(v burst.sipp.delivered)" "$(v burst.kamailio.delivered)"
      ;;
    subs)
      line "held subs $SUBS_N: set-up/s" "$(v subs.stox.rate)" "$(v subs.sipp.rate)" "$(v subs.kamailio.rate)"
      line "  active" "$(v subs.stox.active)" "$(v subs.sipp.active)" "$(v subs.kamailio.active)"
      line "  SUBSCRIBEs answered 503 (sent again 1 s later)" "$(v subs.stox.refused)" "$(v subs.sipp.refused)" "$(v subs.kamailio.refused)"
      line "  CPU us per subscription (target only)" "$(v subs.stox.cpu_us)" "$(v subs.sipp.cpu_us)" "$(v subs.kamailio.cpu_us)"
      line "  bytes per held sub, +${JWAIT}s" "$(v subs.stox.per_sub)" "$(v subs.sipp.per_sub)" "$(v subs.kamailio.per_sub)"
      [ -z "${V[subs.stox.malloc]:-}" ] || echo "  stoxd's glibc heap +${JWAIT}s (KiB): ${V[subs.stox.malloc]}"
      ;;
  esac
done
echo "(memory: stoxd and the sipp UAS VmRSS; Kamailio Pss over its processes. Work files: $W)"

for k in "${!V[@]}"; do
  val=${V[$k]}
  res "$k" "${val// /_}"
done
res elapsed_s "$elapsed"
