#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Loops and laundering through the gateway's own domains (stox.conf(5),
xmpp-domains): with xmpp-domains = '*', a MESSAGE whose Request-URI is in
the SIP domain or in the component's domain must not become a stanza to
the component, come back to it and leave for the SIP proxy as a new
request (a spoofed From with the gateway's standing, and Max-Forwards
starting again at 70).  It gets 404, and nothing reaches XMPP or the
proxy.  Run twice: component = SIP domain (the default), and a component
domain of its own."""

import asyncio

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

EVE = "sip:eve@" + st.SIP_DOMAIN


async def launder(t, prosody, d, ua, target, label):
    """A MESSAGE and a SUBSCRIBE from eve to `target`: 404, and neither a
    stanza nor a request comes out."""
    pmark, mk = prosody.log_mark(), ua.mark()
    tr = await ua.message(target, "wire the money", from_uri=EVE)
    t.eq(tr.code, 404, "%s: MESSAGE from eve to %s → 404 (the gateway's own domain)" % (label, target),
         tr.final.text() if tr.final else repr(tr))
    tr = await ua.request("SUBSCRIBE", target, from_uri=EVE,
                          headers=[("Event", "presence"), ("Expires", "600")])
    t.eq(tr.code, 404, "%s: SUBSCRIBE from eve to %s → 404" % (label, target),
         tr.final.text() if tr.final else repr(tr))
    # What would have crossed: the stanza to the component reaches it again
    # within milliseconds and leaves as a MESSAGE to the proxy (the UA).
    await asyncio.sleep(1.5)
    out = ua.requests_since(mk)
    t.ok(not out, "%s: nothing comes back out to the SIP proxy" % label,
         "\n\n".join("Max-Forwards %s\n%s" % (r.get("max-forwards"), r.text()) for r in out))
    sent = [(n, a) for n, a in prosody.component_stanzas(pmark) if n in ("message", "presence")]
    t.ok(not sent, "%s: stoxd sent no stanza to XMPP for it" % label, repr(sent))


async def main(t):
    # -- component = SIP domain (sip.test), xmpp-domains = * -----------------
    env = await st.Env.start(t, users=["bob"], online=["bob"],
                             stoxd_kw={"overrides": {("gateway", "xmpp-domains"): "*"}})
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody (xmpp-domains = *)")
    await launder(t, env.prosody, d, ua, "sip:boss@" + st.SIP_DOMAIN, "component = SIP domain")

    # '*' still serves every other domain.
    m = bob.mark()
    tr = await ua.message("bob@" + st.XMPP_DOMAIN, "hello", from_uri=EVE)
    got = await bob.expect(lambda s: s.body == "hello", start=m, timeout=3)
    t.ok(tr.code == 202 and got is not None, "xmpp-domains = *: a MESSAGE to bob@xmpp.test is delivered",
         repr(tr))
    await d.stop()
    await env.prosody.stop()

    # -- a component domain of its own (gw.test) -------------------------------
    prosody = st.Prosody(t, component="gw.test")
    await prosody.start()
    ua2 = await st.SipUA(t).start()
    d2 = st.Stoxd(t, prosody=prosody, proxy_port=ua2.port, name="stoxd-gw",
                  overrides={("gateway", "xmpp-domains"): "*", ("xmpp", "component"): "gw.test"})
    d2.start()
    ua2.peer = (st.LOOPBACK, d2.sip_port)
    await d2.wait_ready(15, ua=ua2)
    for target in ("sip:boss@gw.test", "sip:boss@" + st.SIP_DOMAIN):
        await launder(t, prosody, d2, ua2, target, "component gw.test")
    code, _ = await d2.stop()
    t.eq(code, 0, "stoxd exits 0 on SIGTERM")


st.run(main)
