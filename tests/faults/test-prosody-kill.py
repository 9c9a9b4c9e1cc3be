#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/mappings.md §3 and stoxd(8) under a fault: the XMPP server dies (SIGKILL) in the
middle of a burst of 1000 messages each way, comes back, and stoxd
reconnects.  Before it dies it stalls for 300 ms (SIGSTOP), as an
overloaded server does: that is what makes sure stanzas are on their way
to it when it dies (an idle Prosody on loopback would have routed every
one already).  Nothing may be lost in silence:

  SIP -> XMPP  every MESSAGE ends in an error response, or in a 2xx followed
               by delivery to the XMPP user or by the gateway's "not
               delivered" MESSAGE back to the sender (each sender has its own
               address, sip:sN@sip.test, so a notice names its message);
  XMPP -> SIP  every stanza the gateway received is delivered to the SIP
               side, and every one the SIP side refused (486 for every fifth)
               comes back to the sender as an error stanza.

Stanzas that died inside Prosody never reached the gateway (stoxd's debug
log shows each stanza it read): they are counted apart, as the server's
loss.  The test counts every outcome and prints the counts."""

import asyncio
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import stoxtest as st  # noqa: E402

N = int(os.environ.get("STOX_FAULT_BURST", "1000"))
WINDOW = 100           # SIP MESSAGE transactions in flight at once
X_INTERVAL = 0.004     # seconds between two stanzas from bob
KILL_AFTER = N * 2 // 5   # SIP final responses before the kill
STALL = 0.3            # seconds Prosody is stopped before it is killed
OUTAGE = 1.0           # seconds Prosody stays dead
SIP_ANSWER_DELAY = 0.3  # the SIP peer answers MESSAGEs from XMPP this late
REFUSE_EVERY = 5       # ... and refuses every fifth with 486


def notice_index(req):
    """The N of sip:sN@sip.test a "not delivered" MESSAGE goes back to."""
    m = re.match(r"sips?:s(\d+)@", req.ruri or "")
    return int(m.group(1)) if m else None


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"])
    d, ua, pros = env.stoxd, env.ua, env.prosody
    clients = [env.clients["bob"]]
    t.ok(await st.wait_component(clients[0], 15), "component connected to Prosody")
    loop = asyncio.get_running_loop()

    # The SIP peer (also the gateway's outbound proxy): MESSAGEs from XMPP
    # are answered late, every fifth refused; "not delivered" notices at once.
    x_at_sip = {}        # i -> (SIP answer code)
    notices = {}         # i -> notice body
    other_requests = []

    def responder(req):
        if req.method != "MESSAGE":
            other_requests.append(req)
            return 200
        body = req.body.decode("utf-8", "replace")
        m = re.fullmatch(r"x-(\d+)", body.strip())
        if m:
            i = int(m.group(1))
            code = 486 if i % REFUSE_EVERY == 0 else 200
            x_at_sip.setdefault(i, code)
            loop.call_later(SIP_ANSWER_DELAY, ua.respond, req, code)
            return st.DEFER
        i = notice_index(req)
        if i is not None and "not delivered" in body:
            notices.setdefault(i, body)
        else:
            other_requests.append(req)
        return 200
    ua.responder = responder

    state = {"killed_at": None, "back_at": None, "sip_done": 0, "bob": clients[0]}
    s_codes = {}         # i -> final code (None: no final response)
    s_sent_at = {}
    x_sent = {}          # i -> (monotonic time, client index)

    async def sip_side():
        sem = asyncio.Semaphore(WINDOW)

        async def one(i):
            async with sem:
                s_sent_at[i] = time.monotonic()
                tr = await ua.message("bob@" + st.XMPP_DOMAIN, "s-%d" % i,
                                      from_uri="sip:s%d@%s" % (i, st.SIP_DOMAIN), timeout=40)
                s_codes[i] = tr.code
                state["sip_done"] += 1
        await asyncio.gather(*(one(i) for i in range(N)))

    async def xmpp_side():
        i = 0
        while i < N:
            if state["bob"] is None:      # Prosody is down: bob waits
                await asyncio.sleep(0.05)
                continue
            bob = state["bob"]
            bob.send_message("alice@" + st.COMPONENT, body="x-%d" % i, mid="x-%d" % i, mtype="chat")
            x_sent[i] = (time.monotonic(), len(clients) - 1)
            i += 1
            await asyncio.sleep(X_INTERVAL)

    async def fault():
        await st.wait_until(lambda: state["sip_done"] >= KILL_AFTER, 60)
        state["bob"] = None
        pros.expect_exit = True
        state["stalled_at"] = time.monotonic()
        pros.proc.send_signal(signal.SIGSTOP)   # by the PID we started
        await asyncio.sleep(STALL)
        pros.proc.kill()                        # SIGKILL
        await st.wait_until(lambda: pros.proc.poll() is not None, 5)
        state["killed_at"] = time.monotonic()
        await asyncio.sleep(OUTAGE)
        await pros.start()
        new = await st.XmppClient(t, pros, "bob", env.password, resource="after").connect()
        clients.append(new)
        state["back_at"] = time.monotonic()
        state["bob"] = new

    t0 = time.monotonic()
    await asyncio.gather(sip_side(), xmpp_side(), fault())
    burst_s = time.monotonic() - t0

    # Late notices, bounces and delayed SIP answers settle: wait until
    # nothing has changed for 3 s (at most 20 s).
    def snapshot():
        return (sum(len(c.inbox) for c in clients), len(ua.all_requests))
    last, quiet_since, deadline = snapshot(), time.monotonic(), time.monotonic() + 20
    while time.monotonic() < deadline and time.monotonic() - quiet_since < 3:
        await asyncio.sleep(0.25)
        now = snapshot()
        if now != last:
            last, quiet_since = now, time.monotonic()

    killed = state["killed_at"]
    t.ok(killed is not None and state["back_at"] is not None,
         "Prosody stalled after %d SIP answers, killed (SIGKILL) %.1f s later, back %.1f s after that" % (
             KILL_AFTER, STALL, (state["back_at"] or 0) - (killed or 0)))
    t.ok(any(ts < killed for ts in s_sent_at.values()) and any(ts > killed for ts in s_sent_at.values()),
         "the kill fell inside the SIP burst (%.1f s of burst, kill at +%.1f s)" % (burst_s, killed - t0))

    # ---- SIP -> XMPP --------------------------------------------------
    delivered = set()
    for c in clients:
        for s in c.inbox:
            if s.kind == "message" and s.type != "error" and s.body:
                m = re.fullmatch(r"s-(\d+)", s.body)
                if m:
                    delivered.add(int(m.group(1)))
    outcome = {"2xx+delivered": [], "2xx+notice": [], "2xx+both": [], "2xx LOST": [],
               "error response": [], "no final response": []}
    codes = {}
    for i in range(N):
        code = s_codes.get(i)
        codes[code] = codes.get(code, 0) + 1
        if code is None:
            outcome["no final response"].append(i)
        elif code >= 300:
            outcome["error response"].append(i)
        elif i in delivered and i in notices:
            outcome["2xx+both"].append(i)
        elif i in delivered:
            outcome["2xx+delivered"].append(i)
        elif i in notices:
            outcome["2xx+notice"].append(i)
        else:
            outcome["2xx LOST"].append(i)
    t.diag("SIP -> XMPP, %d MESSAGEs: %s" % (N, ", ".join("%s %d" % (k, len(v)) for k, v in outcome.items())))
    t.diag("  final responses: %s" % ", ".join("%s: %d" % (k, v) for k, v in sorted(codes.items(), key=str)))
    errors_delivered = [i for i in outcome["error response"] if i in delivered]
    t.diag("  error responses whose message was delivered all the same: %d" % len(errors_delivered))
    lost = outcome["2xx LOST"]
    if lost:
        rel = sorted(round((s_sent_at[i] - killed) * 1000) for i in lost)
        t.diag("  lost MESSAGEs were sent %d ms to %d ms from the kill (negative: before; the stall began at %d ms)"
               % (rel[0], rel[-1], round((state["stalled_at"] - killed) * 1000)))
    t.eq(len(outcome["no final response"]), 0, "SIP -> XMPP: every MESSAGE got a final response")
    t.eq(len(lost), 0, "SIP -> XMPP: every 2xx was delivered or came back as a \"not delivered\" MESSAGE",
         "lost: %r" % lost[:40])

    # ---- XMPP -> SIP --------------------------------------------------
    log = d.log_text()
    at_gateway = {int(m) for m in re.findall(r"RECV: <message[^>]*\bid=['\"]x-(\d+)['\"]", log)}
    error_back = set()
    for c in clients:
        for s in c.inbox:
            if s.kind == "message" and s.type == "error":
                m = re.fullmatch(r"x-(\d+)", s.attr("id") or "")
                if m:
                    error_back.add(int(m.group(1)))
    for name, attrs in pros.component_stanzas(name="message"):
        m = re.fullmatch(r"x-(\d+)", attrs.get("id", ""))
        if m and attrs.get("type") == "error":
            error_back.add(int(m.group(1)))
    xo = {"delivered (SIP 200)": [], "refused (SIP 486) + error stanza": [],
          "refused (SIP 486), NO error stanza": [], "reached the gateway, LOST": [],
          "never reached the gateway (died in Prosody)": [], "error stanza without reaching SIP": []}
    for i in sorted(x_sent):
        if i in x_at_sip:
            if x_at_sip[i] < 300:
                xo["delivered (SIP 200)"].append(i)
            elif i in error_back:
                xo["refused (SIP 486) + error stanza"].append(i)
            else:
                xo["refused (SIP 486), NO error stanza"].append(i)
        elif i in error_back:
            xo["error stanza without reaching SIP"].append(i)
        elif i in at_gateway:
            xo["reached the gateway, LOST"].append(i)
        else:
            xo["never reached the gateway (died in Prosody)"].append(i)
    t.diag("XMPP -> SIP, %d stanzas sent: %s" % (len(x_sent), ", ".join("%s %d" % (k, len(v)) for k, v in xo.items())))
    no_err = xo["refused (SIP 486), NO error stanza"]
    if no_err:
        t.diag("  refusals without error stanza: ids %r" % no_err[:40])
    t.eq(len(xo["reached the gateway, LOST"]), 0,
         "XMPP -> SIP: every stanza the gateway read reached the SIP side or came back as an error",
         repr(xo["reached the gateway, LOST"][:40]))
    t.eq(len(no_err), 0, "XMPP -> SIP: every MESSAGE the SIP side refused came back as an error stanza")
    t.ok(len(x_sent) == N, "all %d stanzas sent (%d)" % (N, len(x_sent)))
    t.diag("other requests at the SIP peer: %d" % len(other_requests))

    tr = await ua.request("OPTIONS", d.sip_uri())
    t.eq(tr.code, 200, "stoxd still answers OPTIONS after the fault")
    t.ok(d.running, "stoxd still running")


st.run(main, timeout=170)
