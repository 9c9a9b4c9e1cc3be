#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The README's first command: a private Prosody on loopback, a scripted SIP
peer standing in for the SIP proxy, and stoxd between them.  Sends one
message each way, prints both as they arrive, then keeps running, printing
every message that crosses, until Ctrl-C.  Reuses the end-to-end harness."""

import asyncio
import os
import signal
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import stoxtest as st  # noqa: E402

PASSWORD = "stox-sandbox"


def say(text):
    print(text, flush=True)


async def main():
    t = st.TAP()
    t.ok = lambda cond, name, diag=None: cond  # the sandbox reports in prose
    env = await st.Env.start(t, users=["juliet", "demo"], online=["demo"],
                             stoxd_kw={"bounce_wait": 250, "log_level": "info"})
    env.prosody.password = PASSWORD
    for user in ("juliet", "demo"):
        await env.prosody.register_async(user, PASSWORD)
    demo, ua, stoxd = env.clients["demo"], env.ua, env.stoxd
    if not await st.wait_component(demo, 20):
        say("stoxd did not connect to Prosody; its log: " + stoxd.log)
        return 1

    say("")
    say("stox sandbox is up (everything on 127.0.0.1):")
    say("  Prosody   c2s port %d (plain login allowed), component port %d"
        % (env.prosody.c2s_port, env.prosody.component_port))
    say("  XMPP      juliet@%s / %s  — connect a real XMPP client as this user"
        % (st.XMPP_DOMAIN, PASSWORD))
    say("  stoxd     SIP on %s:%d (UDP and TCP), component %s; log %s"
        % (st.LOOPBACK, stoxd.sip_port, st.COMPONENT, stoxd.log))
    say("  SIP peer  %s:%d plays the SIP proxy and user romeo@%s"
        % (st.LOOPBACK, ua.port, st.SIP_DOMAIN))
    say("  A SIP client sends MESSAGE to sip:juliet@%s via %s:%d;"
        % (st.XMPP_DOMAIN, st.LOOPBACK, stoxd.sip_port))
    say("  XMPP users write to romeo@%s; those MESSAGEs are printed here." % st.COMPONENT)
    say("")

    # One message each way, printed as they arrive.
    mark = demo.mark()
    tr = await ua.message("sip:demo@" + st.XMPP_DOMAIN, "Hello from SIP (romeo)",
                          from_uri="sip:romeo@" + st.SIP_DOMAIN)
    say("SIP  → XMPP  MESSAGE answered %s" % (tr.code,))
    msg = await demo.expect(start=mark, timeout=5)
    say("XMPP ← arrived at demo@%s: from=%s body=%r"
        % (st.XMPP_DOMAIN, msg.frm if msg else None, msg.body if msg else None))

    seen = ua.mark()
    demo.send_message("romeo@" + st.COMPONENT, "Hello from XMPP (demo)", mtype="chat")
    req = await ua.wait_request("MESSAGE", timeout=5, start=seen)
    say("XMPP → SIP   arrived at the SIP peer: %s" % (req.text(400).replace("\r\n", "\n  ") if req else None))
    say("")
    say("Running; Ctrl-C stops Prosody and stoxd.")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    sip_seen, xmpp_seen = ua.mark(), demo.mark()
    while not stop.is_set():
        for r in ua.requests_since(sip_seen):
            say("SIP peer got %s from %s: %r" % (r.method, r.get("from"), r.body[:200]))
        sip_seen = ua.mark()
        for m in demo.since(xmpp_seen):
            say("demo got <message> from %s: %r" % (m.frm, m.body))
        xmpp_seen = demo.mark()
        if stoxd.proc.poll() is not None:
            say("stoxd exited with %s; see %s" % (stoxd.proc.returncode, stoxd.log))
            return 1
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    say("stopping")
    return 0


if __name__ == "__main__":
    try:
        code = asyncio.run(main())
    finally:
        st._run_cleanups()
    sys.exit(code or 0)
