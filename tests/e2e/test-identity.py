#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Whom stoxd believes a SIP request is from, and to whom presence goes
(docs/deployment.md, "Security at the network edge").

The scripted UA plays the trusted SIP proxy on 127.0.0.1 (the default
trusted-peers).  What stoxd knows of a SIP user is the P-Asserted-Identity
that proxy adds (RFC 3325); the From and the Contact are the user's own
claims.

  - A MESSAGE whose P-Asserted-Identity names romeo reaches bob from
    romeo@sip.test, whatever the From says (anonymous, or boss).
  - romeo (asserted) watches juliet, who approves and says where she is.
    Eve, through the same proxy but not asserted, SUBSCRIBEs with From
    romeo and her own Contact: 403, no NOTIFY reaches her, and juliet gets
    no subscription request in romeo's name.  Nor does a fetch (Expires: 0)
    tell her anything.  romeo's own new device, asserted, is active at once.
"""

import asyncio

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

ROMEO = "sip:romeo@" + st.SIP_DOMAIN
JULIET = "juliet@" + st.XMPP_DOMAIN
JULIET_URI = "sip:" + JULIET
PIDF_CT = st.PIDF_CT


def brief(msg):
    return msg.text(1200) if msg is not None else "(nothing arrived)"


def from_component(user):
    return lambda s: (s.frm or "").split("/")[0] == "%s@%s" % (user, st.COMPONENT)


async def main(t):
    env = await st.Env.start(t, users=("bob", "juliet"), online=("bob", "juliet"))
    ua, bob, juliet, pros = env.ua, env.clients["bob"], env.clients["juliet"], env.prosody
    t.ok(await env.wait_component(bob), "stoxd's component is connected to Prosody")

    # -- 1. P-Asserted-Identity names the sender --------------------------------
    for frm, label in (('"Anonymous" <sip:anonymous@anonymous.invalid>', "an anonymous From"),
                       ("<sip:boss@%s>" % st.SIP_DOMAIN, "From boss")):
        m = bob.mark()
        text = "from romeo, %s" % label
        tr = await ua.message("bob@" + st.XMPP_DOMAIN, text, omit=("from",),
                              headers=[("From", frm + ";tag=" + st.rand_token(8)), st.asserted(ROMEO)])
        got = await bob.expect(lambda s: s.body == text, start=m, timeout=3)
        t.ok(tr.code == 202 and got is not None and from_component("romeo")(got),
             "MESSAGE with %s and P-Asserted-Identity %s -> 202, bob gets it from romeo@sip.test" % (label, ROMEO),
             "SIP %r\nXMPP %r" % (tr, got))

    # -- 2. romeo, asserted, watches juliet; she approves -----------------------
    def subscribe(agent, expires, headers):
        return agent.request("SUBSCRIBE", JULIET_URI, from_uri=ROMEO, omit=("contact",),
                             headers=[("Contact", "<sip:romeo@127.0.0.1:%d>" % agent.port), ("Event", "presence"),
                                      ("Accept", PIDF_CT), ("Expires", str(expires))] + headers)

    mark, jmark = ua.mark(), juliet.mark()
    sub = await subscribe(ua, 300, [st.asserted(ROMEO)])
    t.eq(sub.code, 200, "romeo's SUBSCRIBE (P-Asserted-Identity %s) -> 200" % ROMEO,
         brief(sub.final) if sub.final else repr(sub))
    if sub.code != 200:
        raise st.BailOut("romeo's SUBSCRIBE refused; the rest builds on it")
    cid = sub.request.get("call-id")
    s = await juliet.expect(from_component("romeo"), kind="presence", timeout=5, start=jmark)
    t.ok(s is not None and s.type == "subscribe", "juliet gets romeo's subscription request",
         repr(juliet.since(jmark, kind=None)))
    juliet.send_raw('<presence xmlns="jabber:client" to="romeo@%s" type="subscribed"/>' % st.COMPONENT)
    juliet.send_raw('<presence xmlns="jabber:client"><status>on the balcony</status></presence>')
    n = await ua.wait_request("NOTIFY", lambda r: r.get("call-id") == cid
                              and "on the balcony" in ((st.pidf_info(r.body) or {}).get("notes") or []),
                              timeout=5, start=mark)
    t.ok(n is not None and st.substate(n)[0] == "active",
         "juliet approves: romeo's NOTIFY active with her note 'on the balcony'",
         "\n---\n".join(brief(r) for r in ua.requests_since(mark, "NOTIFY")))

    # -- 3. eve claims romeo: not vouched for, nothing leaks ---------------------
    eve = await st.SipUA(t).start()
    eve.peer = ua.peer
    jmark = juliet.mark()
    for expires, what in ((300, "a SUBSCRIBE"), (0, "a fetch (Expires: 0)")):
        emark = eve.mark()
        tr = await subscribe(eve, expires, [])
        t.eq(tr.code, 403, "%s with From %s, eve's Contact and no P-Asserted-Identity -> 403" % (what, ROMEO),
             brief(tr.final) if tr.final else repr(tr))
        await asyncio.sleep(1.0)
        got = eve.requests_since(emark)
        t.ok(not got, "... and nothing reaches eve's Contact (no NOTIFY, no presence of juliet's)",
             "\n---\n".join(brief(r) for r in got))
    await asyncio.sleep(0.5)
    asks = juliet.since(jmark, "presence", from_component("romeo"))
    t.ok(not asks, "juliet gets no new presence stanza in romeo's name from eve's attempts", repr(asks))

    # -- 4. romeo's own new device, asserted: active at once --------------------
    dev = await st.SipUA(t).start()
    dev.peer = ua.peer
    dmark = dev.mark()
    tr = await subscribe(dev, 300, [st.asserted(ROMEO)])
    n = await dev.wait_request("NOTIFY", lambda r: st.substate(r)[0] == "active"
                               and "on the balcony" in ((st.pidf_info(r.body) or {}).get("notes") or []),
                               timeout=5, start=dmark)
    t.ok(tr.code == 200 and n is not None,
         "romeo's second device, asserted by the proxy -> 200 and at once NOTIFY active with juliet's note",
         "%r\n%s" % (tr, "\n---\n".join(brief(r) for r in dev.requests_since(dmark))))

    code, _ = await env.stoxd.stop()
    t.eq(code, 0, "stoxd exits 0 on SIGTERM")


st.run(main)
