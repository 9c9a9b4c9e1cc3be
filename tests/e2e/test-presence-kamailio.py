#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Presence through stox with a REAL SIP presence server (stoxd(8) PRESENCE): a
private Kamailio (tests/e2e/kamailio.py: presence, presence_xml, db_text)
is stoxd's outbound proxy and the presence server of sip.test, and routes
requests for xmpp.test users to stoxd (record-routed).  Real Prosody,
slixmpp clients, scripted SIP UAs (alice the publisher, carol the watcher).

  X2S: alice PUBLISHes open + "at my desk" to Kamailio; bob subscribes to
  alice@sip.test through stox (stoxd's SUBSCRIBE goes to Kamailio, whose
  NOTIFYs come back) -> bob gets subscribed and alice online with that
  status; alice PUBLISHes closed -> bob gets unavailable.
  S2X: carol's SUBSCRIBE to sip:juliet@xmpp.test is routed by Kamailio to
  stoxd -> 200 back through Kamailio and a NOTIFY pending along its
  record-route; juliet approves -> NOTIFY active and her presence (open,
  her status as note) reach carol through Kamailio.
  Crash: stoxd is SIGKILLed and started again on the same state-dir ->
  carol's dialog is kept: juliet's presence arrives in it through Kamailio
  and carol's refresh along the route set is answered 200.
Fails when kamailio is not installed (tests/deps.txt).
"""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kamailio as kam_mod  # noqa: E402

if not kam_mod.available():
    # A missing peer fails the run: a green SKIP would hide that the
    # proxy tier never ran (tests/deps.txt installs it).
    print("Bail out! kamailio is not installed (tests/deps.txt)", flush=True)
    sys.exit(1)

import stoxtest as st  # noqa: E402
from kamailio import Kamailio  # noqa: E402

DOMAIN = st.SIP_DOMAIN
PIDF_CT = st.PIDF_CT
BOB = "bob@" + st.XMPP_DOMAIN
JULIET = "juliet@" + st.XMPP_DOMAIN


def brief(msg):
    return msg.text(1200) if msg is not None else "(nothing arrived)"


def briefs(msgs):
    return "\n----\n".join(brief(m) for m in msgs) if msgs else "(none)"


async def main(t):
    t0 = time.monotonic()
    env = await st.Env.start(t, users=("bob", "juliet"), online=("bob",), stoxd=False)
    pros = env.prosody
    bob = env.clients["bob"]
    await bob.fetch_roster()   # an "interested resource": gets subscribed/unsubscribed

    sip_port = st.free_port(tcp=True, udp=True)
    kam = Kamailio(t, domain=DOMAIN, gateway_domain=st.XMPP_DOMAIN, gateway_port=sip_port)
    await kam.start()
    stoxd = st.Stoxd(t, prosody=pros, proxy_port=kam.port, sip_port=sip_port)
    stoxd.start()
    await stoxd.wait_ready(15)
    t.ok(await env.wait_component(bob),
         "stoxd (outbound proxy: Kamailio 127.0.0.1:%d) is up and its component connected" % kam.port)

    alice_ua = await st.SipUA(t).start()
    carol_ua = await st.SipUA(t).start()
    alice_ua.peer = kam.addr
    carol_ua.peer = kam.addr
    alice = "sip:alice@" + DOMAIN
    carol = "sip:carol@" + DOMAIN

    # -- X2S: alice publishes, bob watches through stox ------------------
    tr = await alice_ua.request("PUBLISH", alice, from_uri=alice,
                                headers=[("Event", "presence"), ("Expires", "60")],
                                body=st.pidf_doc(alice, "open", "at my desk", tuple_id="a1"),
                                content_type=PIDF_CT)
    etag = tr.final.get("sip-etag") if tr.final else None
    t.ok(tr.code == 200 and etag, "alice PUBLISHes open + 'at my desk' to Kamailio -> 200 with SIP-ETag",
         brief(tr.final) if tr.final else repr(tr))

    bmark = bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="alice@%s" type="subscribe"/>' % st.COMPONENT)
    sb = await bob.expect(lambda s: (s.frm or "").split("/")[0] == "alice@" + st.COMPONENT and s.type == "subscribed",
                          kind="presence", start=bmark, timeout=8)
    t.ok(sb is not None, "bob subscribes to alice@sip.test -> Kamailio's NOTIFY active -> bob gets subscribed",
         "bob got: %r" % bob.since(bmark, kind=None))
    av = await bob.expect(lambda s: (s.frm or "").split("/")[0] == "alice@" + st.COMPONENT and s.type is None,
                          kind="presence", start=bmark, timeout=5 if sb is not None else 1)
    t.ok(av is not None and av.child_text("status") == "at my desk",
         "bob sees alice online with <status>at my desk</status>",
         "bob got: %r" % bob.since(bmark, kind=None))

    bmark = bob.mark()
    tr = await alice_ua.request("PUBLISH", alice, from_uri=alice,
                                headers=[("Event", "presence"), ("Expires", "60"), ("SIP-If-Match", etag or "x")],
                                body=st.pidf_doc(alice, "closed", "gone home", tuple_id="a1"),
                                content_type=PIDF_CT)
    un = await bob.expect(lambda s: (s.frm or "").split("/")[0] == "alice@" + st.COMPONENT
                          and s.type == "unavailable", kind="presence", start=bmark, timeout=8)
    t.ok(tr.code == 200 and un is not None,
         "alice PUBLISHes closed (SIP-If-Match) -> bob receives unavailable from alice",
         "%r\nbob got: %r" % (tr, bob.since(bmark, kind=None)))

    # -- S2X: carol watches juliet; Kamailio routes to stoxd ----------------
    # carol registers first: the proxy asserts an identity it has checked
    # (P-Asserted-Identity, RFC 3325), and stoxd gives presence to no other.
    ccontact = "<sip:carol@127.0.0.1:%d>" % carol_ua.port
    reg = await carol_ua.request("REGISTER", "sip:" + DOMAIN, from_uri=carol, to_uri=carol,
                                 headers=[("Contact", ccontact), ("Expires", "300")])
    t.eq(reg.code, 200, "carol REGISTERs at Kamailio -> 200", brief(reg.final) if reg.final else repr(reg))
    juliet = await st.XmppClient(t, pros, "juliet", env.password).connect()
    juliet.send_raw('<presence xmlns="jabber:client"><status>on the balcony</status></presence>')
    jmark = juliet.mark()
    cmark = carol_ua.mark()
    sub = await carol_ua.request("SUBSCRIBE", "sip:" + JULIET, from_uri=carol, omit=("contact",),
                                 headers=[("Contact", ccontact), ("Event", "presence"), ("Accept", PIDF_CT),
                                          ("Expires", "120")])
    t.ok(sub.code == 200 and sub.final.get("expires") is not None
         and any("127.0.0.1:%d" % kam.port in v for v in sub.final.get_all("record-route")),
         "carol's SUBSCRIBE sip:juliet@xmpp.test, routed by Kamailio to stoxd -> 200 (Expires, "
         "Kamailio's Record-Route)", brief(sub.final) if sub.final else repr(sub))
    if sub.code != 200:
        raise st.BailOut("carol's SUBSCRIBE not accepted (%r); the S2X checks need that dialog" % sub)
    cid = sub.request.get("call-id")

    def from_kamailio(r):
        return r.source is not None and tuple(r.source[:2]) == kam.addr

    n0 = await carol_ua.wait_request("NOTIFY", lambda r: r.get("call-id") == cid, timeout=5, start=cmark)
    t.ok(n0 is not None and st.substate(n0)[0] == "pending" and from_kamailio(n0)
         and len(n0.header_lines("via")) >= 2,
         "the first NOTIFY (pending) reaches carol through Kamailio (loose_route on its record-route)",
         brief(n0))
    s = await juliet.expect(lambda s: s.frm == "carol@" + st.COMPONENT and s.type == "subscribe",
                            kind="presence", start=jmark, timeout=5)
    t.ok(s is not None, "juliet receives subscribe from carol@sip.test",
         "juliet got: %r" % juliet.since(jmark, kind=None))
    cmark = carol_ua.mark()
    juliet.send_raw('<presence xmlns="jabber:client" to="carol@%s" type="subscribed"/>' % st.COMPONENT)
    act = await carol_ua.wait_request("NOTIFY", lambda r: r.get("call-id") == cid and st.substate(r)[0] == "active",
                                      timeout=5, start=cmark)
    t.ok(act is not None and from_kamailio(act), "juliet approves -> NOTIFY active reaches carol through Kamailio",
         briefs(carol_ua.requests_since(cmark, "NOTIFY")))
    pres = await carol_ua.wait_request(
        "NOTIFY", lambda r: r.get("call-id") == cid and (st.pidf_info(r.body) or {}).get("basic") == ["open"],
        timeout=5, start=cmark)
    info = st.pidf_info(pres.body) if pres else None
    t.ok(pres is not None and from_kamailio(pres) and info["notes"] == ["on the balcony"],
         "juliet's presence reaches carol as a NOTIFY through Kamailio: PIDF open, note 'on the balcony'",
         "%r\n%s" % (info, briefs(carol_ua.requests_since(cmark, "NOTIFY"))))

    cmark = carol_ua.mark()
    juliet.send_raw('<presence xmlns="jabber:client"><show>dnd</show><status>do not disturb</status></presence>')
    def dnd_note(r):
        return r.get("call-id") == cid and "do not disturb" in ((st.pidf_info(r.body) or {}).get("notes") or [])
    upd = await carol_ua.wait_request("NOTIFY", dnd_note, timeout=5, start=cmark)
    info = st.pidf_info(upd.body) if upd else None
    t.ok(upd is not None and from_kamailio(upd) and info["shows"] == ["dnd"],
         "juliet's change (dnd, 'do not disturb') reaches carol through Kamailio",
         "%r\n%s" % (info, briefs(carol_ua.requests_since(cmark, "NOTIFY"))))

    # -- crash: carol's dialog is kept (route set through Kamailio) --------
    t.ok(await st.wait_watch_stored(stoxd.state_dir, 1),
         "carol's dialog is in stox.db, both halves, before the crash",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(stoxd.state_dir),))
    seqs = [r.cseq_num for r in carol_ua.requests_since(0, "NOTIFY") if r.get("call-id") == cid]
    code, _ = await stoxd.stop(sig=signal.SIGKILL)
    cmark = carol_ua.mark()
    stoxd = st.Stoxd(t, prosody=pros, proxy_port=kam.port, sip_port=sip_port,
                     state_dir=stoxd.state_dir, name="stoxd-2")
    stoxd.start()
    await stoxd.wait_ready(15)
    kept = await carol_ua.wait_request("NOTIFY", dnd_note, timeout=8, start=cmark)
    t.ok(code == -signal.SIGKILL and kept is not None and from_kamailio(kept) and seqs
         and kept.cseq_num > max(seqs) and kept.tag_of("to") == n0.tag_of("to")
         and kept.tag_of("from") == n0.tag_of("from"),
         "SIGKILL and a new stoxd on the same state-dir -> juliet's presence reaches carol in her OLD dialog "
         "through Kamailio (same tags, CSeq above the earlier ones)",
         "kill %r; earlier CSeqs %r\n%s" % (code, seqs, briefs(carol_ua.requests_since(cmark, "NOTIFY"))))
    cmark = carol_ua.mark()
    cdlg = st.Dialog.uac(carol_ua, sub)
    ref = await cdlg.request("SUBSCRIBE", [("Event", "presence"), ("Accept", PIDF_CT), ("Expires", "120")])
    rn = await carol_ua.wait_request("NOTIFY", lambda r: r.get("call-id") == cid, timeout=5, start=cmark)
    t.ok(ref.code == 200 and rn is not None and from_kamailio(rn) and st.substate(rn)[0] == "active",
         "carol's refresh in that dialog, along Kamailio's route set -> 200 and NOTIFY active back through "
         "Kamailio", "%s\n%s" % (brief(ref.final) if ref.final else repr(ref),
                                 briefs(carol_ua.requests_since(cmark, "NOTIFY"))))

    # -- stop -------------------------------------------------------------
    code, secs = await stoxd.stop()
    t.ok(code == 0 and secs <= 5.0, "stoxd exits 0 within 5 s of SIGTERM (%.2fs)" % secs,
         "exit %r\n%s" % (code, stoxd.log_tail(30)))
    status, ksecs, killed = await kam.stop()
    t.ok(status == 0 and not killed, "Kamailio exits 0 on SIGTERM", "status %r killed %r" % (status, killed))
    t.ok(not alice_ua.errors and not carol_ua.errors, "no unparsable SIP",
         "\n".join(alice_ua.errors + carol_ua.errors))
    t.diag("total %.1fs" % (time.monotonic() - t0))


st.run(main)
