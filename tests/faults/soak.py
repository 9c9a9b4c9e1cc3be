#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Soak: stoxd under steady load both ways with subscriptions churning,
bounded (SOAK_SECONDS, default 120), its resident memory and open
descriptors sampled every 2 s from /proc.  After a warm-up both must stay
flat: the gateway keeps no state per message it has finished with, and
closes what it opens (stoxd(8): memory stays bounded).  The warm-up
is 65 s, the longest memory under this load: an answered MESSAGE is kept
60 s for a late bounce (STOX_GATEWAY_LATE_BOUNCE_US), a finished SIP
transaction 32 s (timer J, RFC 3261 §17.1.2.2); until both have turned
over once, growth is expected.  Under an ASan build (libasan mapped into stoxd) RSS is not
judged (the allocator quarantine grows by design); LeakSanitizer judges
instead when stoxd exits at the end.

Load, all at once:
  - SIP -> XMPP: a MESSAGE to bob every 1/RATE s (each must get 202 and
    reach bob);
  - XMPP -> SIP: a message from bob every 1/RATE s (each must reach the
    SIP side, answered 200);
  - SIP watchers: a new one every second (sip:wN@sip.test SUBSCRIBEs to
    bob, bob approves, bob's presence changes reach it as NOTIFYs), each
    ending its dialog with Expires: 0 after WATCH_S seconds;
  - bob follows a new SIP user every 2 s (pN@sip.test: SUBSCRIBE out,
    answered 200 and a NOTIFY with PIDF, as a presence server does) and
    drops the follow 4 s later (SUBSCRIBE Expires: 0, NOTIFY terminated).

Run: make soak [SOAK_SECONDS=120] in a build directory, or
  STOX_SRCDIR=... STOX_BUILDDIR=... /usr/bin/python3 tests/faults/soak.py
Prints TAP and a table of the samples."""

import asyncio
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import stoxtest as st  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "120"))
RATE = float(os.environ.get("SOAK_RATE", "20"))     # messages per second, each way
WATCH_S = 5.0
SAMPLE_S = 2.0
WARM_UP_S = min(65.0, SECONDS / 2)
BOB = "bob@" + st.XMPP_DOMAIN
# Flat: after warm-up, RSS may grow by at most this much (allocator noise,
# GLib's slices, SQLite's page cache filling up), descriptors not at all
# but for a transient one or two (a TCP connection being set up).
RSS_SLACK_KB = 3 * 1024
RSS_SLACK_RATIO = 0.05
FD_SLACK = 2


def sample(pid):
    rss = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None
    return (rss, fds)


def has_asan(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"], stoxd_kw={"log_level": os.environ.get("SOAK_LOG_LEVEL", "info")})
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    t.ok(await st.wait_component(bob, 15), "component connected to Prosody")
    pid = d.proc.pid
    asan = has_asan(pid)
    t.diag("stoxd pid %d, %s build, %.0f s at %.0f messages/s each way"
           % (pid, "ASan" if asan else "plain", SECONDS, RATE))

    x_at_sip = set()
    counts = {"NOTIFY": 0, "SUBSCRIBE": 0, "SUBSCRIBE Expires 0": 0, "MESSAGE": 0, "other": 0}
    notifies = {"sent": 0, "answered 200": 0}
    loop = asyncio.get_running_loop()

    dialogs = {}   # Call-ID -> the presence server's side of a dialog

    async def presence_server_notify(req):
        """The SIP user's presence server: NOTIFY in the dialog (one Dialog
        per Call-ID, so that its CSeq keeps rising)."""
        user = (st.parse_sip_uri(req.ruri) or {}).get("user", "p")
        ending = req.get("expires") == "0"
        dlg = dialogs.pop(req.get("call-id"), None) if ending else None
        if dlg is None:
            dlg = st.Dialog.uas(ua, req, "<sip:%s@127.0.0.1:%d>" % (user, ua.port))
        if not ending:
            dialogs[req.get("call-id")] = dlg
        body = None if ending else st.pidf_doc("sip:%s@%s" % (user, st.SIP_DOMAIN), note="soak")
        notifies["sent"] += 1
        tr = await dlg.notify("terminated;reason=timeout" if ending else "active;expires=120", body=body)
        if tr.code == 200:
            notifies["answered 200"] += 1
        else:
            notifies.setdefault("other", []).append(("ending" if ending else "active", tr.code))

    def responder(req):
        if req.method == "MESSAGE":
            m = re.fullmatch(rb"x-(\d+)", req.body.strip())
            if m:
                x_at_sip.add(int(m.group(1)))
        elif req.method == "SUBSCRIBE":
            if req.get("expires") == "0":
                counts["SUBSCRIBE Expires 0"] += 1
            loop.call_soon(lambda: asyncio.ensure_future(presence_server_notify(req)))
        counts[req.method if req.method in counts else "other"] += 1
        return 200
    ua.responder = responder

    # bob approves every watcher at once
    def on_presence(p):
        if p["type"] == "subscribe":
            bob.xmpp.send_presence(pto=p["from"].bare, ptype="subscribed")
    bob.xmpp.add_event_handler("presence_subscribe", on_presence)

    stop_at = time.monotonic() + SECONDS
    s_codes = {}
    x_sent = 0
    watchers = {"started": 0, "ok": 0, "ended": 0, "failed": []}
    follows = {"started": 0, "ended": 0}
    samples = []   # (seconds since start, rss kB, fds)
    t_start = time.monotonic()

    async def sip_to_xmpp():
        i = 0
        pending = set()
        while time.monotonic() < stop_at:
            async def one(i):
                tr = await ua.message(BOB, "s-%d" % i, from_uri="sip:alice@" + st.SIP_DOMAIN, timeout=10)
                s_codes[i] = tr.code
            pending.add(asyncio.ensure_future(one(i)))
            pending = {p for p in pending if not p.done()}
            i += 1
            await asyncio.sleep(1.0 / RATE)
        await asyncio.gather(*pending)

    async def xmpp_to_sip():
        nonlocal x_sent
        while time.monotonic() < stop_at:
            bob.send_message("alice@" + st.COMPONENT, body="x-%d" % x_sent, mid="x-%d" % x_sent, mtype="chat")
            x_sent += 1
            await asyncio.sleep(1.0 / RATE)

    async def watcher(n):
        user = "w%d" % n
        contact = "<sip:%s@127.0.0.1:%d>" % (user, ua.port)
        tr = await ua.request("SUBSCRIBE", "sip:" + BOB, from_uri="sip:%s@%s" % (user, st.SIP_DOMAIN),
                              omit=("contact",), headers=[("Contact", contact), ("Event", "presence"),
                                                          ("Expires", "120"),
                                                          ("Accept", st.PIDF_CT),
                                                          # the proxy vouches for it, as
                                                          # presence requires
                                                          st.asserted("sip:%s@%s" % (user, st.SIP_DOMAIN))])
        if tr.code != 200:
            watchers["failed"].append((user, tr.code))
            return
        watchers["ok"] += 1
        dlg = st.Dialog.uac(ua, tr, contact)
        await asyncio.sleep(WATCH_S)
        tr = await dlg.request("SUBSCRIBE", [("Event", "presence"), ("Expires", "0")])
        if tr.code == 200:
            watchers["ended"] += 1
        else:
            watchers["failed"].append((user, "end %s" % tr.code))

    async def watchers_churn():
        tasks, n = [], 0
        while time.monotonic() < stop_at - WATCH_S - 2:
            tasks.append(asyncio.ensure_future(watcher(n)))
            watchers["started"] += 1
            n += 1
            await asyncio.sleep(1.0)
        await asyncio.gather(*tasks)

    async def presence_changes():
        shows = ["away", "dnd", "chat", None]
        k = 0
        while time.monotonic() < stop_at:
            show = shows[k % len(shows)]
            bob.xmpp.send_presence(pshow=show, pstatus="soak %d" % k) if show else \
                bob.xmpp.send_presence(pstatus="soak %d" % k)
            k += 1
            await asyncio.sleep(1.5)

    async def follows_churn():
        n = 0
        while time.monotonic() < stop_at - 6:
            target = "p%d@%s" % (n, st.SIP_DOMAIN)
            bob.send_raw("<presence xmlns='jabber:client' to='%s' type='subscribe'/>" % target)
            follows["started"] += 1
            n += 1
            await asyncio.sleep(2.0)
            if n >= 2:
                bob.send_raw("<presence xmlns='jabber:client' to='p%d@%s' type='unsubscribe'/>"
                             % (n - 2, st.SIP_DOMAIN))
                follows["ended"] += 1

    async def sampler():
        while time.monotonic() < stop_at + 1:
            s = sample(pid)
            if s:
                samples.append((time.monotonic() - t_start, s[0], s[1]))
            await asyncio.sleep(SAMPLE_S)

    await asyncio.gather(sip_to_xmpp(), xmpp_to_sip(), watchers_churn(), presence_changes(),
                         follows_churn(), sampler())
    await asyncio.sleep(2)   # the last answers and stanzas land
    s = sample(pid)
    if s:
        samples.append((time.monotonic() - t_start, s[0], s[1]))

    # ---- what the load did ---------------------------------------------
    delivered = {int(m.group(1)) for s_ in bob.inbox if s_.kind == "message" and s_.body
                 for m in [re.fullmatch(r"s-(\d+)", s_.body)] if m}
    codes = {}
    for c in s_codes.values():
        codes[c] = codes.get(c, 0) + 1
    t.diag("SIP -> XMPP: %d MESSAGEs, answers %r, %d delivered to bob" % (len(s_codes), codes, len(delivered)))
    t.diag("XMPP -> SIP: %d stanzas, %d reached the SIP side" % (x_sent, len(x_at_sip)))
    t.diag("watchers: %(started)d started, %(ok)d accepted, %(ended)d ended" % watchers
           + (", failures %r" % watchers["failed"][:10] if watchers["failed"] else ""))
    t.diag("follows: %(started)d started, %(ended)d dropped" % follows)
    t.diag("requests at the SIP side: %r" % counts)
    ok_msgs = codes.get(202, 0)
    t.ok(ok_msgs == len(s_codes) and len(delivered) == len(s_codes),
         "SIP -> XMPP: every MESSAGE accepted (202) and delivered (%d/%d/%d)"
         % (ok_msgs, len(delivered), len(s_codes)))
    t.ok(len(x_at_sip) == x_sent, "XMPP -> SIP: every stanza reached the SIP side (%d/%d)" % (len(x_at_sip), x_sent))
    t.ok(watchers["ok"] == watchers["started"] and watchers["ended"] == watchers["ok"] and watchers["ok"] > 0,
         "every watcher subscribed and ended its dialog (%d)" % watchers["ok"])
    t.diag("NOTIFYs from the SIP users' presence server: %(sent)d sent, %(answered 200)d answered 200"
           % notifies)
    t.ok(counts["SUBSCRIBE"] - counts["SUBSCRIBE Expires 0"] >= follows["started"]
         and counts["SUBSCRIBE Expires 0"] >= follows["ended"],
         "bob's follows came out as SUBSCRIBEs and ended with Expires: 0 (%d, %d for %d follows, %d ends)"
         % (counts["SUBSCRIBE"] - counts["SUBSCRIBE Expires 0"], counts["SUBSCRIBE Expires 0"],
            follows["started"], follows["ended"]))
    t.ok(notifies["answered 200"] == notifies["sent"],
         "the gateway answered every NOTIFY 200 (%(answered 200)d/%(sent)d)" % notifies,
         "other answers: %r" % notifies.get("other"))

    # ---- memory and descriptors ----------------------------------------
    t.diag("   t (s)   RSS (kB)   fds")
    for ts, rss, fds in samples:
        t.diag("%8.1f %10d %5d" % (ts, rss, fds))
    warm = [x for x in samples if x[0] >= WARM_UP_S]
    if len(warm) < 3:
        t.ok(False, "enough samples after warm-up (%d)" % len(warm))
        return
    w_rss, w_fds = warm[0][1], warm[0][2]
    e_rss, e_fds = samples[-1][1], samples[-1][2]
    peak_rss = max(x[1] for x in warm)
    peak_fds = max(x[2] for x in warm)
    t.diag("start: RSS %d kB, %d fds; after warm-up (%.0f s): RSS %d kB, %d fds; end: RSS %d kB, %d fds; "
           "peak after warm-up: RSS %d kB, %d fds"
           % (samples[0][1], samples[0][2], warm[0][0], w_rss, w_fds, e_rss, e_fds, peak_rss, peak_fds))
    if asan:
        t.skip("RSS flat after warm-up", "ASan build: LeakSanitizer judges at exit instead")
    else:
        limit = w_rss + max(RSS_SLACK_KB, int(w_rss * RSS_SLACK_RATIO))
        t.ok(peak_rss <= limit, "RSS flat after warm-up: %d kB -> peak %d kB, end %d kB (limit %d kB)"
             % (w_rss, peak_rss, e_rss, limit))
    t.ok(peak_fds <= w_fds + FD_SLACK and e_fds <= w_fds,
         "open descriptors flat after warm-up: %d -> peak %d, end %d" % (w_fds, peak_fds, e_fds))

    rc, elapsed = await d.stop(signal.SIGTERM, kill_after=30 if asan else 8)
    t.ok(rc == 0, "SIGTERM -> exit 0 (%.1f s)%s" % (elapsed, ", LeakSanitizer ran" if asan else ""),
         d.log_tail(30))


st.run(main, timeout=SECONDS + 120)
