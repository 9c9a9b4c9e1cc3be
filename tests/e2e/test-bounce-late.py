#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/mappings.md §3 with [gateway] bounce-wait = 0: the 202 goes out at once,
so an XMPP error bounce arrives after it and must come back to the SIP
sender as a MESSAGE from the XMPP address saying it was not delivered and
why ("a failure is never silent").  The SipUA is the gateway's outbound
proxy and receives that MESSAGE."""

import asyncio
import re

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

ALICE = "sip:alice@" + st.SIP_DOMAIN


async def main(t):
    env = await st.Env.start(t, users=["bob", "carol"], online=["bob"], stoxd_kw={"bounce_wait": 0})
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    rules = st.Rules(d.rules)
    code, where = rules.xmpp_to_sip("service-unavailable", 403)
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody")

    # delivered: 202 at once, no MESSAGE back
    mk, m = ua.mark(), bob.mark()
    tr = await ua.message("bob@xmpp.test", "hello bob")
    got = await bob.expect(lambda s: s.body == "hello bob", start=m, timeout=3)
    t.ok(tr.code == 202 and tr.elapsed is not None and tr.elapsed < 0.3 and got is not None,
         "bounce-wait = 0: MESSAGE to online bob → 202 at once (%s s) and delivered" % (
             round(tr.elapsed, 3) if tr.elapsed else None), repr(tr))
    await asyncio.sleep(0.8)
    t.ok(not ua.requests_since(mk, "MESSAGE") and d.running, "no MESSAGE back for a delivered message",
         repr(ua.requests_since(mk)))

    for user in ("carol", "nobody"):
        mk = ua.mark()
        tr = await ua.message("%s@xmpp.test" % user, "are you there, %s?" % user)
        t.eq(tr.code, 202, "bounce-wait = 0: MESSAGE to %s %s@xmpp.test → 202 before the bounce"
             % ("offline" if user == "carol" else "unknown", user), tr.final.text() if tr.final else repr(tr))
        back = await ua.wait_request("MESSAGE", timeout=4, start=mk)
        t.ok(back is not None, "the late bounce comes back as a SIP MESSAGE through the outbound proxy",
             "requests seen: %r" % ua.requests_since(mk))
        if back is None:
            for what in ("Request-URI", "From", "body"):
                t.ok(False, "late-bounce MESSAGE %s (none arrived)" % what)
            continue
        ruri = st.parse_sip_uri(back.ruri)
        t.ok(ruri and ruri["scheme"] == "sip" and ruri["user"] == "alice" and ruri["host"] == st.SIP_DOMAIN,
             "late-bounce MESSAGE: Request-URI sip:alice@sip.test", back.text())
        frm = st.parse_sip_uri(back.uri_of("from"))
        t.ok(frm and frm["user"] == user and frm["host"] == st.XMPP_DOMAIN,
             "late-bounce MESSAGE: From sip:%s@xmpp.test (the XMPP address)" % user, back.text())
        text = back.body.decode("utf-8", "replace")
        ct, params = back.content_type()
        why = re.search(r"service[- ]unavailable|\b%d\b" % code, text, re.I)
        t.ok(ct == "text/plain" and re.search(r"deliver", text, re.I) and why,
             "late-bounce MESSAGE: text/plain saying it was not delivered and why "
             "(service-unavailable / %s, %s)" % (code, where), back.text())

    tr = await ua.request("OPTIONS", d.sip_uri())
    t.eq(tr.code, 200, "still answering OPTIONS afterwards")


st.run(main)
