#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd(8): stoxd started while the XMPP server is down still
serves SIP, tells systemd READY=1 within ~10 s, refuses with 503 +
Retry-After, and connects once Prosody comes up; then messages cross both
ways."""

import asyncio
import signal
import time

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402


async def main(t):
    pros = st.Prosody(t)
    ua = await st.SipUA(t).start()
    d = st.Stoxd(t, prosody=pros, proxy_port=ua.port)
    ua.peer = (st.LOOPBACK, d.sip_port)
    d.start()

    # OPTIONS before READY, while XMPP is down
    got200 = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and d.running:
        tr = await ua.request("OPTIONS", d.sip_uri(), timeout=1)
        if tr.code == 200:
            got200 = time.monotonic() - d.started_at
            break
        await asyncio.sleep(0.1)
    t.ok(got200 is not None, "Prosody down: OPTIONS → 200 (after %s s)" % (round(got200, 2) if got200 else None))

    ready = await d.wait_notify("READY=1", 12.5)
    t.ok(ready and ready[0][0] <= 11.5, "Prosody down: READY=1 within ~10 s (%s)"
         % (("%.1f s" % ready[0][0]) if ready else "never"), repr(d.notifications))
    status = d.notified("STATUS=")
    t.ok(status, "STATUS= sent while XMPP is down", repr(d.notifications))

    tr = await ua.message("bob@xmpp.test", "nobody home")
    ra = tr.final.get("retry-after") if tr.final else None
    t.ok(tr.code == 503 and ra is not None, "Prosody down: MESSAGE → 503 with Retry-After",
         tr.final.text() if tr.final else repr(tr))
    t.ok(d.running, "stoxd keeps running without XMPP")

    # Prosody comes up
    t0 = time.monotonic()
    await pros.start()
    await pros.register_async("bob", "pw")
    bob = await st.XmppClient(t, pros, "bob", "pw").connect()
    delivered, _, codes = await st.wait_delivery(ua, bob, "hello after start", 30 - (time.monotonic() - t0))
    t.ok(delivered is not None, "Prosody started later → a SIP MESSAGE reaches bob within 30 s (%.1f s)"
         % (time.monotonic() - t0), "answers while waiting: %r" % codes)

    mk = ua.mark()
    bob.send_message("alice@" + st.COMPONENT, body="and back")
    req = await ua.wait_request("MESSAGE", timeout=5, start=mk)
    t.ok(req is not None and req.body == b"and back", "… and bob's message reaches the SIP side",
         repr(ua.requests_since(mk)))
    status = d.notified("STATUS=")
    t.ok(len(status) >= 2 and status[-1][1] != status[0][1], "STATUS= updated after the component connected",
         repr(status))

    rc, elapsed = await d.stop(signal.SIGTERM)
    t.ok(rc == 0 and elapsed <= 5.0, "SIGTERM → exit 0 within 5 s", "exit %r after %.2f s" % (rc, elapsed))


st.run(main)
