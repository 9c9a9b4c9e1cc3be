#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Real-peer throughput on loopback (bench/README.md): a private Prosody,
# stoxd from the tree (bounce-wait = 0, --log-level=warning), sipp sending
# MESSAGE to sip:nobody@xmpp.test.  Prosody has offline storage disabled,
# so every message bounces with service-unavailable and stoxd sends the
# late-bounce MESSAGE "not delivered" back through its outbound proxy: a
# second sipp (bench/sink.xml) that answers 200.  Both directions, every
# message.
#
# The offered rate ramps (BENCH_RATES, each level BENCH_SECONDS long) and
# stops at the first level where final responses fall below 95 % of the
# MESSAGEs sent or 503s exceed 1 %.  Per level: the rates over the steady
# window (1 s after the start to 1 s before the end), 503s, failures, the
# CPU of stoxd, Prosody and the sending sipp from /proc/<pid>/stat, UDP
# drops per socket from /proc/net/udp, stoxd's resident memory.
#
# Environment: STOXD (default bench/_build/src/stoxd), BENCH_RATES
# ("2000 3000 4000 5000 7500 10000 20000"), BENCH_SECONDS (10), BENCH_IDLE (35: seconds
# of quiet before the last memory reading; Sofia keeps a finished UDP
# transaction for 32 s), BENCH_WORKDIR (bench/_build/wire).
#
# Every process is started here as a child and stopped by its PID; every
# socket is on 127.0.0.1; every wait is bounded.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
STOXD=${STOXD:-$HERE/_build/src/stoxd}
RATES=${BENCH_RATES:-"2000 3000 4000 5000 7500 10000 20000"}
DUR=${BENCH_SECONDS:-10}
IDLE=${BENCH_IDLE:-35}
W=${BENCH_WORKDIR:-$HERE/_build/wire}
PY=/usr/bin/python3
HZ=$(getconf CLK_TCK)

die () { echo "bench-wire: $*" >&2; exit 1; }
for tool in sipp prosody "$PY"; do
  command -v "$tool" >/dev/null || die "$tool is missing (tests/install-deps installs it)"
done
[ -x "$STOXD" ] || die "no stoxd at $STOXD (bench/run builds it)"
[ "$DUR" -ge 4 ] || die "BENCH_SECONDS must be at least 4"

rm -rf "$W"
mkdir -p "$W/prosody/data" "$W/prosody/certs" "$W/stoxd/rules.d" "$W/stoxd/state"

# ---- processes: started here, stopped by PID ---------------------------------

PIDS=()
stop_pid () {   # PID [grace seconds]
  local pid=$1 grace=${2:-5} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
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

cpu_ticks () {   # PID: utime + stime in clock ticks (stat fields 14, 15)
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

rss_kib () { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

udp_drops () {   # PORT: the drops column of the 127.0.0.1 UDP socket on PORT
  awk -v p="$(printf '0100007F:%04X' "$1")" '$2 == p { print $NF; found = 1 } END { if (!found) print 0 }' /proc/net/udp
}

now_ns () { date +%s%N; }

# busy and total jiffies of the whole machine (all cores, every tenant)
box_ticks () { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

wait_tcp () {   # PORT SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

alive () { kill -0 "$1" 2>/dev/null; }

# ---- Prosody -----------------------------------------------------------------

read -r C2S_PORT COMP_PORT SIP_PORT SINK_PORT UAC_PORT <<<"$(free_ports 5)"
SECRET="bench-$RANDOM$RANDOM"
ROOT_LINE=
[ "$(id -u)" = 0 ] && ROOT_LINE='run_as_root = true'
P=$W/prosody
cat > "$P/prosody.cfg.lua" <<EOF
-- private benchmark instance (bench/bench-wire.sh)
$ROOT_LINE
daemonize = false
pidfile = "$P/prosody.pid"
data_path = "$P/data"
certificates = "$P/certs"
log = { warn = "$P/prosody.log" }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { $C2S_PORT }
component_ports = { $COMP_PORT }
component_interfaces = { "127.0.0.1" }
s2s_ports = { }
s2s_interfaces = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
legacy_ssl_ports = { }
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
modules_enabled = { "roster", "saslauth", "disco", "ping" }
modules_disabled = { "offline", "s2s", "tls" }

VirtualHost "xmpp.test"

Component "sip.test"
    component_secret = "$SECRET"
EOF
(cd "$P" && exec prosody --config "$P/prosody.cfg.lua" -F) >"$P/prosody.out" 2>&1 &
PROSODY_PID=$!
PIDS+=("$PROSODY_PID")
wait_tcp "$COMP_PORT" 15 && wait_tcp "$C2S_PORT" 5 ||
  { tail -20 "$P/prosody.out" "$P/prosody.log" >&2; die "Prosody did not open its ports"; }

# ---- the sink: stoxd's outbound proxy ----------------------------------------

mkdir -p "$W/sink"
(cd "$W/sink" && exec sipp -sf "$HERE/sink.xml" -i 127.0.0.1 -p "$SINK_PORT" -t u1 -nostdin \
   -trace_counts -fd 1 -buff_size 4194304) >/dev/null 2>"$W/sink/sipp.err" &
SINK_PID=$!
PIDS+=("$SINK_PID")

sink_received () {
  local f
  f=$(ls "$W"/sink/*_counts.csv 2>/dev/null | head -1)
  [ -n "$f" ] || { echo 0; return; }
  tail -1 "$f" | awk -F';' '{ print $3 + 0 }'
}

# COUNTS-CSV COLUMN T1 T2 (epoch s): the column's rate between the rows
# nearest after T1 and before T2 (sipp writes a row a second).
csv_rate () {
  awk -F';' -v want="$2" -v lo="$3" -v hi="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == want) c = i; next }
    {
      split($1, t, "\t"); e = t[3] + 0; v = $c + 0
      if (e >= lo && !have) { e1 = e; v1 = v; have = 1 }
      if (e <= hi) { e2 = e; v2 = v }
    }
    END { if (have && e2 > e1) printf "%.0f", (v2 - v1) / (e2 - e1); else print 0 }' "$1"
}

# ---- stoxd -------------------------------------------------------------------

D=$W/stoxd
cp "$SRC"/gateway-rules/*.rules "$D/rules.d/"
cat > "$D/stox.conf" <<EOF
# generated by bench/bench-wire.sh
[sip]
domain = sip.test
listen = sip:127.0.0.1:$SIP_PORT
outbound-proxy = sip:127.0.0.1:$SINK_PORT;lr

[xmpp]
component = sip.test
server = 127.0.0.1
port = $COMP_PORT
secret = $SECRET

[gateway]
rules = $D/rules.d
bounce-wait = 0
xmpp-domains = xmpp.test
state-dir = $D/state
EOF
(cd "$D" && env -u NOTIFY_SOCKET "$STOXD" -c "$D/stox.conf" --log-level=warning) >"$D/stoxd.log" 2>&1 &
STOXD_PID=$!
PIDS+=("$STOXD_PID")

# Ready: a MESSAGE to nobody@xmpp.test gets 202 (503 while the component
# link is not up yet).
"$PY" - "$SIP_PORT" <<'EOF' || { tail -30 "$D/stoxd.log" >&2; die "stoxd never answered 202"; }
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(0.5)
me = s.getsockname()[1]
deadline = time.monotonic() + 15
n = 0
while time.monotonic() < deadline:
    n += 1
    body = b"ready?"
    msg = ("MESSAGE sip:nobody@xmpp.test SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ready-%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:alice@sip.test>;tag=r%d\r\nTo: <sip:nobody@xmpp.test>\r\n"
           "Call-ID: ready-%d@bench\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"
           "Content-Length: %d\r\n\r\n" % (me, n, n, n, len(body))).encode() + body
    s.sendto(msg, ("127.0.0.1", port))
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            data = s.recv(65535)
        except socket.timeout:
            continue
        code = data.split(b" ", 2)[1] if data.startswith(b"SIP/2.0 ") else b""
        if code == b"202":
            sys.exit(0)
        if code >= b"200":
            break
    time.sleep(0.2)
sys.exit(1)
EOF

sleep 1   # the readiness probe's own late bounce
printf 'wire: prosody %s, stoxd %s, sink sipp %s (pids); stoxd RSS %s KiB at start\n' \
  "$PROSODY_PID" "$STOXD_PID" "$SINK_PID" "$(rss_kib "$STOXD_PID")"

# ---- one level -----------------------------------------------------------------

HEADER=$(printf '%-7s %6s %6s %6s %4s %6s %4s %6s %6s %6s %5s %5s %5s %5s %6s %9s %7s  %s' \
  offered sent/s 202/s late/s 503 fail lost resp% rtt-ms stoxd% pros% uac% sink% box% us/msg drops rss-MiB verdict)

# run_level NAME RATE: sipp offers RATE MESSAGE/s for DUR s; prints one row
# and sets verdict, r202_s, stoxd_pct, us_msg, rss.
run_level () {
  local name=$1 rate=$2 L=$W/level-$1 n=$(( $2 * DUR ))
  local sink0 sink1 dropS0 dropS1 dropK0 dropK1 t1 t2 cs1 cs2 cp1 cp2 cu1 cu2 ck1 ck2 UAC_PID
  local bb1 bt1 bb2 bt2 sink_pct box_pct
  local counts stat sent r202 r503 lo hi sent_s late_s rtt failed wall pros_pct sipp_pct resp_pct lost
  mkdir -p "$L"
  sink0=$(sink_received)
  dropS0=$(udp_drops "$SIP_PORT"); dropK0=$(udp_drops "$SINK_PORT")
  (cd "$L" && exec sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/message.xml" \
     -s nobody -i 127.0.0.1 -p "$UAC_PORT" -t u1 -r "$rate" -m "$n" -recv_timeout 3000 -nr \
     -timeout $((DUR + 30)) -default_behaviors -bye -nostdin -trace_counts -trace_stat -fd 1 \
     -buff_size 4194304) >/dev/null 2>"$L/sipp.err" &
  UAC_PID=$!
  PIDS+=("$UAC_PID")
  sleep 1
  t1=$(now_ns); cs1=$(cpu_ticks "$STOXD_PID"); cp1=$(cpu_ticks "$PROSODY_PID"); cu1=$(cpu_ticks "$UAC_PID")
  ck1=$(cpu_ticks "$SINK_PID"); read -r bb1 bt1 <<<"$(box_ticks)"
  sleep $((DUR - 2))
  t2=$(now_ns); cs2=$(cpu_ticks "$STOXD_PID"); cp2=$(cpu_ticks "$PROSODY_PID"); cu2=$(cpu_ticks "$UAC_PID")
  ck2=$(cpu_ticks "$SINK_PID"); read -r bb2 bt2 <<<"$(box_ticks)"
  wait "$UAC_PID" 2>/dev/null
  unset 'PIDS[${#PIDS[@]}-1]'
  sleep 2   # the last late bounces; the sink writes its counts once a second
  sink1=$(sink_received)
  dropS1=$(udp_drops "$SIP_PORT"); dropK1=$(udp_drops "$SINK_PORT")
  rss=$(rss_kib "$STOXD_PID")

  counts=$(ls "$L"/*_counts.csv 2>/dev/null | head -1)
  stat=$(ls "$L"/*_.csv 2>/dev/null | head -1)
  if [ -z "$counts" ] || [ -z "$stat" ]; then
    verdict="sipp wrote no statistics (see $L/sipp.err)"
    r202_s=0
    return
  fi
  read -r sent r202 r503 <<<"$(tail -1 "$counts" | awk -F';' -v h="$(head -1 "$counts")" '
    BEGIN { n = split(h, H, ";"); for (i = 1; i <= n; i++) col[H[i]] = i }
    { print $col["0_MESSAGE_Sent"] + 0, $col["2_202_Recv"] + 0, $col["1_503_Recv"] + 0 }')"
  # the steady window: from 1 s after the start to 1 s before the end
  lo=$(awk -v t="$t1" 'BEGIN { printf "%.3f", t / 1e9 }')
  hi=$(awk -v t="$t2" 'BEGIN { printf "%.3f", t / 1e9 }')
  sent_s=$(csv_rate "$counts" 0_MESSAGE_Sent "$lo" "$hi")
  r202_s=$(csv_rate "$counts" 2_202_Recv "$lo" "$hi")
  late_s=$(csv_rate "$(ls "$W"/sink/*_counts.csv | head -1)" 0_MESSAGE_Recv "$lo" "$hi")
  # sipp's cumulative mean response time (it ticks in milliseconds)
  rtt=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ResponseTime1(C)") c = i; next }
    END { if (c) { split($c, a, ":"); printf "%.1f", (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 + a[4] / 1000 } else print "-" }' "$stat")
  failed=$(tail -1 "$stat" | awk -F';' '{ print $18 + 0 }')
  # accepted MESSAGEs whose late-bounce notice never reached the sink
  lost=$(( r202 - (sink1 - sink0) ))
  [ "$lost" -ge 0 ] || lost=0
  wall=$(( (t2 - t1) / 1000000 ))   # ms
  [ "$wall" -gt 0 ] || wall=1
  stoxd_pct=$(( (cs2 - cs1) * 100000 / HZ / wall ))
  pros_pct=$(( (cp2 - cp1) * 100000 / HZ / wall ))
  sipp_pct=$(( (cu2 - cu1) * 100000 / HZ / wall ))
  sink_pct=$(( (ck2 - ck1) * 100000 / HZ / wall ))
  # the whole machine, in % of one core (200 = both cores busy)
  box_pct=$(( (bb2 - bb1) * 100 * $(nproc) / (bt2 - bt1 > 0 ? bt2 - bt1 : 1) ))
  # stoxd CPU per MESSAGE in the steady window: MESSAGE in, 202 out, stanza
  # out, bounce in, notice out, its 200 in
  us_msg=$(awk -v t=$((cs2 - cs1)) -v hz="$HZ" -v r="$r202_s" -v w="$wall" \
    'BEGIN { m = r * w / 1000; if (m > 0) printf "%.0f", t * 1e6 / hz / m; else print "-" }')
  resp_pct=$(awk -v s="$sent" -v a="$r202" -v b="$r503" 'BEGIN { if (s > 0) printf "%.1f", 100 * (a + b) / s; else print 0 }')
  verdict=ok
  if ! alive "$STOXD_PID"; then
    verdict="STOXD DIED"
  elif awk -v s="$sent" -v a="$r202" -v b="$r503" 'BEGIN { exit !(s == 0 || (a + b) < 0.95 * s) }'; then
    verdict="responses < 95 % of sent"
  elif awk -v s="$sent" -v b="$r503" 'BEGIN { exit !(b > 0.01 * s) }'; then
    verdict="503 > 1 %"
  elif awk -v s="$sent_s" -v r="$rate" 'BEGIN { exit !(s < 0.95 * r) }'; then
    verdict="sipp could not send 95 % of the offered rate"
  fi
  printf '%-7s %6s %6s %6s %4s %6s %4s %6s %6s %6s %5s %5s %5s %5s %6s %9s %7s  %s\n' \
    "$rate" "$sent_s" "$r202_s" "$late_s" "$r503" "$failed" "$lost" "$resp_pct" "$rtt" \
    "$stoxd_pct" "$pros_pct" "$sipp_pct" "$sink_pct" "$box_pct" "$us_msg" \
    "$((dropS1 - dropS0))/$((dropK1 - dropK0))" \
    "$((rss / 1024))" "$verdict"
  {
    echo "RESULT wire.$name.offered $rate"
    echo "RESULT wire.$name.sent $sent"
    echo "RESULT wire.$name.r202 $r202"
    echo "RESULT wire.$name.r503 $r503"
    echo "RESULT wire.$name.failed $failed"
    echo "RESULT wire.$name.lost_notices $lost"
    echo "RESULT wire.$name.r202_per_s $r202_s"
    echo "RESULT wire.$name.stoxd_cpu_pct $stoxd_pct"
    echo "RESULT wire.$name.prosody_cpu_pct $pros_pct"
    echo "RESULT wire.$name.sipp_cpu_pct $sipp_pct"
    echo "RESULT wire.$name.sink_cpu_pct $sink_pct"
    echo "RESULT wire.$name.box_cpu_pct $box_pct"
    echo "RESULT wire.$name.drops_stoxd $((dropS1 - dropS0))"
    echo "RESULT wire.$name.us_per_msg $us_msg"
    echo "RESULT wire.$name.rss_kib $rss"
    echo "RESULT wire.$name.verdict $verdict"
  } >> "$W/results"
}

# ---- the ramp --------------------------------------------------------------------

echo "$HEADER"
best=0 best_cpu=0 best_us=0
stop_reason="every level passed"
level=0
for rate in $RATES; do
  level=$((level + 1))
  run_level "$level-$rate" "$rate"
  if [ "$verdict" != ok ]; then
    stop_reason="stopped at $rate/s: $verdict"
    break
  fi
  best=$r202_s best_cpu=$stoxd_pct best_us=$us_msg
done
echo "wire: $stop_reason; highest passing level: $best MESSAGE/s answered 202 (stoxd CPU $best_cpu %, $best_us us/MESSAGE)"
{
  echo "RESULT wire.best_rate $best"
  echo "RESULT wire.best_stoxd_cpu_pct $best_cpu"
  echo "RESULT wire.best_us_per_msg $best_us"
} >> "$W/results"

# ---- after the load: alive, memory reused? ------------------------------------------

if alive "$STOXD_PID"; then
  rss_end=$(rss_kib "$STOXD_PID")
  sleep "$IDLE"
  rss_idle=$(rss_kib "$STOXD_PID")
  # The first level once more: memory freed by then (Sofia's transactions
  # of the ramp are gone after 32 s) is reused; growth now is a leak.
  first=${RATES%% *}
  echo "wire: the first level again after ${IDLE} s idle (leak check):"
  run_level "repeat-$first" "$first"
  rss_rep=$rss
  echo "wire: stoxd RSS $rss_end KiB after the ramp, $rss_idle KiB after ${IDLE} s idle, $rss_rep KiB after the repeat ($(( rss_rep - rss_idle )) KiB more)"
  {
    echo "RESULT wire.rss_kib_end $rss_end"
    echo "RESULT wire.rss_kib_idle $rss_idle"
    echo "RESULT wire.rss_kib_repeat_growth $(( rss_rep - rss_idle ))"
  } >> "$W/results"
fi
if alive "$STOXD_PID"; then
  t0=$(now_ns)
  kill -TERM "$STOXD_PID"
  for ((i = 0; i < 100; i++)); do alive "$STOXD_PID" || break; sleep 0.1; done
  if alive "$STOXD_PID"; then
    echo "wire: stoxd still running 10 s after SIGTERM: killed"
    kill -KILL "$STOXD_PID"
  fi
  wait "$STOXD_PID"; rc=$?
  echo "wire: stoxd exit status $rc after SIGTERM ($(( ($(now_ns) - t0) / 1000000 )) ms)"
  echo "RESULT wire.stoxd_exit $rc" >> "$W/results"
else
  wait "$STOXD_PID"; rc=$?
  sig=
  [ "$rc" -gt 128 ] && sig=" (signal $((rc - 128)))"
  echo "wire: STOXD DIED under load: exit status $rc$sig; last lines of $D/stoxd.log:"
  tail -20 "$D/stoxd.log" | sed 's/^/  /'
  echo "RESULT wire.stoxd_exit died:$rc" >> "$W/results"
fi
nerr=$(grep -ciE "critical|error" "$D/stoxd.log")
if [ "$nerr" -gt 0 ]; then
  echo "wire: stoxd log holds $nerr critical/error lines; the first:"
  grep -iE "critical|error" "$D/stoxd.log" | head -3 | sed 's/^/  /'
fi
nwarn=$(grep -ci "warning" "$D/stoxd.log")
echo "RESULT wire.stoxd_log_warnings $nwarn" >> "$W/results"
cat "$W/results"
