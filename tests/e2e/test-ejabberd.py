#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd with ejabberd as the XMPP server, set up as docs/deployment.md says:
a private ejabberd 23.01 node (tests/e2e/ejabberd.py) whose component
listener is the guide's docs/examples/ejabberd-stox.yml, mod_offline on;
the scripted SIP UA is stoxd's outbound proxy and the SIP users' presence
server.

  the component authenticates with the snippet's password (a ping that
  only stox answers); SIP MESSAGE -> bob, 202; bob's <message> -> SIP
  MESSAGE; a MESSAGE to carol while she is offline -> 202, and mod_offline
  hands it to her at login; bob subscribes to alice@sip.test -> SUBSCRIBE,
  200 + NOTIFY active open -> bob gets subscribed and alice's presence;
  romeo's phone subscribes to juliet@xmpp.test -> NOTIFY pending, juliet
  gets subscribe from romeo@sip.test, approves -> NOTIFY active, then her
  presence as PIDF open; a stanza to a mixed-case JID (ejabberd passes it
  on as written) reaches the SIP user in lower case; SIGTERM -> exit 0.
"""

import asyncio
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stoxtest as st  # noqa: E402
import ejabberd  # noqa: E402

ALICE = "sip:alice@" + st.SIP_DOMAIN


def brief(msg):
    return msg.text(1200) if msg is not None else "(nothing arrived)"


def from_component(user, pred=None):
    return lambda s: (s.frm or "").split("/")[0] == "%s@%s" % (user, st.COMPONENT) and (pred is None or pred(s))


async def main(t):
    ej = ejabberd.Ejabberd(t, offline=True)
    await ej.start()
    pw = "pw-" + st.rand_token(6)
    for user in ("bob", "carol", "juliet"):
        await ej.register_async(user, pw)
    ua = await st.SipUA(t).start()

    # the SIP side: 200 to every request; a SUBSCRIBE gets a dialog (To tag,
    # Contact, Expires) so that NOTIFYs can follow inside it
    tags = {}

    def responder(req):
        if req.method != "SUBSCRIBE":
            return 200
        tag = tags.setdefault(req.get("call-id"), st.rand_token(8))
        user = st.parse_sip_uri(req.ruri)["user"]
        return (200, None, [("Contact", "<sip:%s@127.0.0.1:%d>" % (user, ua.port)), ("Expires", "120"),
                            ("to-tag", tag)])
    ua.responder = responder

    d = st.Stoxd(t, prosody=ej, proxy_port=ua.port)
    d.start()
    ua.peer = (st.LOOPBACK, d.sip_port)
    await d.wait_ready(15)
    bob = await st.XmppClient(t, ej, "bob", pw).connect()
    await bob.fetch_roster()   # an "interested resource": gets subscribed
    t.ok(await ejabberd.wait_component(bob),
         "stoxd's component authenticated with the password of docs/examples/ejabberd-stox.yml")

    # -- messages --------------------------------------------------------------
    m = bob.mark()
    tr = await ua.message("bob@" + st.XMPP_DOMAIN, "über ejabberd ✓")
    got = await bob.expect(from_component("alice"), start=m)
    t.ok(tr.code == 202 and got is not None and got.body == "über ejabberd ✓",
         "SIP → XMPP: MESSAGE from alice@sip.test reaches bob, 202 Accepted",
         "SIP %r\nXMPP %r" % (tr, got))

    mark = ua.mark()
    bob.send_message("alice@" + st.COMPONENT, body="zurück über ejabberd ✓")
    req = await ua.wait_request("MESSAGE", start=mark, timeout=5)
    t.ok(req is not None and req.body.decode("utf-8", "replace") == "zurück über ejabberd ✓"
         and req.uri_of("to") == ALICE and (req.uri_of("from") or "").startswith("sip:bob@" + st.XMPP_DOMAIN),
         "XMPP → SIP: bob's <message> reaches the proxy as a MESSAGE from sip:bob@xmpp.test to %s" % ALICE,
         brief(req))

    mark = ua.mark()
    bob.send_message("ALICE@" + st.COMPONENT, body="shouting")
    req = await ua.wait_request("MESSAGE", start=mark, timeout=5)
    # A JID's localpart is case-mapped (RFC 7622 §3.3.1, PRECIS
    # UsernameCaseMapped): ALICE@sip.test is alice@sip.test.  Prosody folds
    # it before the component sees it, ejabberd does not.
    t.ok(req is not None and req.uri_of("to") == ALICE,
         "a <message> to ALICE@sip.test (ejabberd passes the case on) reaches %s" % ALICE, brief(req))

    tr = await ua.message("carol@" + st.XMPP_DOMAIN, "while you were out")
    t.eq(tr.code, 202, "MESSAGE to carol while she is offline → 202 (mod_offline keeps it, no bounce)",
         repr(tr))
    carol = await st.XmppClient(t, ej, "carol", pw).connect()
    got = await carol.expect(lambda s: s.body == "while you were out", start=0, timeout=5)
    t.ok(got is not None and from_component("alice")(got),
         "carol gets it from alice@sip.test when she logs in", "carol got: %r" % carol.since(0, kind=None))

    # -- presence, XMPP user -> SIP user -----------------------------------------
    mark, bmark = ua.mark(), bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="alice@%s" type="subscribe"/>' % st.COMPONENT)
    sub = await ua.wait_request("SUBSCRIBE", lambda r: (r.ruri or "").startswith(ALICE), timeout=5, start=mark)
    t.ok(sub is not None and sub.response is not None and sub.response.code == 200
         and sub.uri_of("from") == "sip:bob@" + st.XMPP_DOMAIN
         and (sub.get("event") or "").split(";")[0].strip() == "presence",
         "bob's subscribe → SUBSCRIBE %s (Event: presence, From sip:bob@xmpp.test), answered 200" % ALICE,
         brief(sub))
    if sub is None:
        raise st.BailOut("no SUBSCRIBE from stoxd; the rest of the presence checks depend on it")
    dlg = st.Dialog.uas(ua, sub, "<sip:alice@127.0.0.1:%d>" % ua.port)
    n = await dlg.notify("active;expires=120", st.pidf_doc(ALICE, "open", "at my desk", tuple_id="desk"))
    t.eq(n.code, 200, "NOTIFY active with PIDF open → 200", brief(n.final) if n.final else repr(n))
    sb = await bob.expect(from_component("alice", lambda s: s.type == "subscribed"), kind="presence", start=bmark)
    av = await bob.expect(from_component("alice", lambda s: s.type is None), kind="presence", start=bmark)
    t.ok(sb is not None and av is not None and av.child_text("status") == "at my desk",
         "bob gets subscribed, then alice's presence with <status>at my desk</status>",
         "bob got: %r" % bob.since(bmark, kind=None))

    # -- presence, SIP user -> XMPP user -----------------------------------------
    juliet = await st.XmppClient(t, ej, "juliet", pw).connect()
    await juliet.fetch_roster()
    mark, jmark = ua.mark(), juliet.mark()
    juliet_uri = "sip:juliet@" + st.XMPP_DOMAIN
    tr = await ua.request("SUBSCRIBE", juliet_uri, from_uri="sip:romeo@" + st.SIP_DOMAIN, omit=("contact",),
                          headers=[("Contact", "<sip:romeo@127.0.0.1:%d>" % ua.port), ("Event", "presence"),
                                   ("Expires", "120"), ("Accept", st.PIDF_CT),
                                   st.asserted("sip:romeo@" + st.SIP_DOMAIN)])
    t.eq(tr.code, 200, "romeo's SUBSCRIBE %s → 200" % juliet_uri, repr(tr))
    cid = tr.request.get("call-id") if tr.request is not None else None

    def notify_in(pred):
        return lambda r: r.get("call-id") == cid and pred(r)
    n0 = await ua.wait_request("NOTIFY", notify_in(lambda r: True), timeout=5, start=mark)
    t.ok(n0 is not None and st.substate(n0)[0] == "pending", "the first NOTIFY says pending", brief(n0))
    s = await juliet.expect(lambda s: s.frm == "romeo@" + st.COMPONENT and s.type == "subscribe",
                            kind="presence", start=jmark)
    t.ok(s is not None, "juliet gets <presence type='subscribe' from='romeo@sip.test'/>",
         "juliet got: %r" % juliet.since(jmark, kind=None))
    mark = ua.mark()
    juliet.send_raw('<presence xmlns="jabber:client" to="romeo@%s" type="subscribed"/>' % st.COMPONENT)
    act = await ua.wait_request("NOTIFY", notify_in(lambda r: st.substate(r)[0] == "active"), timeout=5,
                                start=mark)
    t.ok(act is not None, "juliet approves → NOTIFY active", "SIP got: %r" % ua.requests_since(mark, "NOTIFY"))
    opened = await ua.wait_request(
        "NOTIFY", notify_in(lambda r: "open" in ((st.pidf_info(r.body) or {}).get("basic") or [])),
        timeout=5, start=mark)
    t.ok(opened is not None and st.substate(opened)[0] == "active",
         "… and her presence: PIDF basic open (ejabberd answered the probe of an approved contact)",
         "SIP got:\n" + "\n----\n".join(brief(r) for r in ua.requests_since(mark, "NOTIFY")))

    code, secs = await d.stop()
    t.ok(code == 0 and secs < 5.5, "SIGTERM: stoxd exits 0 within 5 s (%.1f s)" % secs, "exit %r" % code)
    await bob.disconnect()
    await carol.disconnect()
    await juliet.disconnect()
    await ej.stop()
    t.ok(not ej.running, "ejabberd stops through ejabberdctl stop")


if __name__ == "__main__":
    st.run(main, timeout=90)
