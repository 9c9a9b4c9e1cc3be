#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Presence, SIP watcher -> XMPP user: a dialog its watcher does not refresh
is ended by stoxd's own timer (RFC 6665 §4.2.2; RFC 8048 §5.3.3 treatment):
NOTIFY terminated;reason=timeout with a closed PIDF, and the XMPP user
receives unavailable from the watcher.  The shortest Expires stoxd accepts
is 60 s, so this script waits about a minute; it has a file of its own so
the others stay short."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stoxtest as st  # noqa: E402

JULIET = "juliet@" + st.XMPP_DOMAIN


async def main(t):
    env = await st.Env.start(t, users=("juliet",), online=("juliet",))
    ua, juliet = env.ua, env.clients["juliet"]
    t.ok(await env.wait_component(juliet), "stoxd's component is connected to Prosody")

    mark, jmark = ua.mark(), juliet.mark()
    hdrs = [("Contact", "<sip:romeo@127.0.0.1:%d>" % ua.port), ("Event", "presence"),
            ("Expires", "60"), ("Accept", st.PIDF_CT), st.asserted("sip:romeo@" + st.SIP_DOMAIN)]
    sub = await ua.request("SUBSCRIBE", "sip:" + JULIET, from_uri="sip:romeo@" + st.SIP_DOMAIN,
                           omit=("contact",), headers=hdrs)
    started = time.monotonic()
    t.eq(sub.code, 200, "SUBSCRIBE Expires: 60 -> 200", sub.final.text(600) if sub.final else repr(sub))
    cid = sub.request.get("call-id")

    def terminated(r):
        return r.get("call-id") == cid and st.substate(r)[0] == "terminated"

    end = await ua.wait_request("NOTIFY", terminated, timeout=75, start=mark)
    waited = time.monotonic() - started
    t.ok(end is not None, "no refresh: NOTIFY Subscription-State: terminated arrives (after %.1f s)" % waited)
    if end is not None:
        state = st.substate(end)
        t.ok(state[1].get("reason") == "timeout", "… with reason=timeout", end.text(800))
        t.ok(59.0 <= waited <= 63.0, "… when the 60 s are up, not before (%.1f s)" % waited)
        body = end.body.decode("utf-8", "replace") if isinstance(end.body, bytes) else end.body
        t.ok("<basic>closed</basic>" in body, "… with a closed PIDF (RFC 8048 §5.3.3)", end.text(800))
    else:
        for name in ("reason=timeout", "on time", "closed PIDF"):
            t.ok(False, name)
    gone = await juliet.expect(lambda s: (s.frm or "").split("/")[0] == "romeo@" + st.COMPONENT
                               and s.type == "unavailable", kind="presence", timeout=5, start=jmark)
    t.ok(gone is not None, "juliet receives unavailable from romeo@sip.test",
         "juliet got: %r" % juliet.since(jmark, kind=None))


st.run(main, timeout=110)
