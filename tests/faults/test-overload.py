#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd(8) PERFORMANCE: overload is never silent: bob (XMPP) writes to a SIP
user twice as fast as the SIP side answers (40 messages a second against
20 answers a second, [sip] max-requests-in-flight = 10), for 12 s.  Every
message ends one of two ways, counted: delivered (one MESSAGE at the SIP
side, answered 200) or refused at once with <resource-constraint/> of
type wait; none is lost, none is duplicated, none waits at the XMPP server
much longer than the runner's stall window (5 s, runner.h) before one of
the two happens, and stoxd's memory stays bounded.  Back-pressure first
(the component is not read while the SIP side is at its limit), then,
once that has lasted the stall window, refusals (the log says so)."""

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import stoxtest as st  # noqa: E402

ALICE = "alice@" + st.COMPONENT
LIMIT = 10
ANSWER_RATE = 20.0      # SIP answers per second
SEND_RATE = 2 * ANSWER_RATE
SECONDS = 12.0
STALL_S = 5.0           # STOX_RUNNER_STALL_S
RSS_LIMIT_KIB = 64 * 1024
# Under AddressSanitizer (its quarantine holds freed memory) the bound is
# looser, still far below what an unbounded queue would take.
ASAN_RSS_LIMIT_KIB = 256 * 1024


def has_asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"],
                             stoxd_kw={"overrides": {("sip", "max-requests-in-flight"): str(LIMIT)},
                                       "log_level": "info"})
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody")

    ua.responder = lambda req: st.DEFER if req.method == "MESSAGE" else 200
    sent_at = {}
    delivered_at = {}
    done = asyncio.Event()
    peak_rss = 0

    async def answer():
        # The SIP side: the oldest request first, ANSWER_RATE a second.
        while not done.is_set():
            pending = ua.pending()
            if pending:
                req = pending[0]
                ua.respond(req, 200)
                body = req.body.decode("utf-8", "replace")
                delivered_at.setdefault(body, []).append(time.monotonic())
            await asyncio.sleep(1.0 / ANSWER_RATE)

    answering = asyncio.ensure_future(answer())
    bm = bob.mark()
    n = int(SEND_RATE * SECONDS)
    t0 = time.monotonic()
    for i in range(n):
        mid = "ov-%04d" % i
        bob.send_message(ALICE, body=mid, mid=mid)
        sent_at[mid] = time.monotonic()
        peak_rss = max(peak_rss, rss_kib(d.proc.pid))
        await asyncio.sleep(max(0.0, t0 + (i + 1) / SEND_RATE - time.monotonic()))

    # Until each message has ended one way or the other (bounded).
    deadline = time.monotonic() + 30
    refused_at = {}
    others = []
    while time.monotonic() < deadline:
        for s in bob.since(bm, pred=lambda s: s.type == "error"):
            cond, etype, _ = s.error_condition()
            if cond == "resource-constraint" and etype == "wait":
                refused_at.setdefault(s.attr("id"), s.at)
            elif s.attr("id") not in [o.attr("id") for o in others]:
                others.append(s)
        peak_rss = max(peak_rss, rss_kib(d.proc.pid))
        if len(set(delivered_at) | set(refused_at)) >= n and not ua.pending():
            break
        await asyncio.sleep(0.2)
    done.set()
    await answering

    delivered = set(delivered_at)
    refused = set(refused_at)
    t.diag("%d sent: %d delivered, %d refused with resource-constraint, %d other errors; "
           "stoxd RSS peak %d KiB" % (n, len(delivered), len(refused), len(others), peak_rss))
    t.eq(len(delivered | refused), n, "every message ended: delivered or refused")
    t.eq(sorted(delivered & refused), [], "no message both delivered and refused")
    t.eq(others, [], "no other error")
    t.eq([m for m, times in delivered_at.items() if len(times) > 1], [],
         "no message delivered twice")
    t.ok(len(refused) > 0, "beyond capacity some messages are refused, not only queued")
    t.ok(len(delivered) >= ANSWER_RATE * SECONDS * 0.6,
         "the SIP side's capacity is used: %d delivered in %.0f s at %d/s"
         % (len(delivered), SECONDS, ANSWER_RATE))
    waits = [refused_at[m] - sent_at[m] for m in refused] + \
            [delivered_at[m][0] - sent_at[m] for m in delivered]
    worst = max(waits) if waits else 0
    t.ok(worst <= STALL_S + 4, "no message waited much beyond the stall window (worst %.1f s)" % worst)
    limit = ASAN_RSS_LIMIT_KIB if has_asan(d.proc.pid) else RSS_LIMIT_KIB
    t.ok(peak_rss < limit, "stoxd's memory bounded: peak %d KiB (limit %d)" % (peak_rss, limit))
    log = d.log_text()
    t.ok("has not kept up" in log, "the log says when refusals start")
    t.ok(d.running, "stoxd still running")


st.run(main, timeout=90)
