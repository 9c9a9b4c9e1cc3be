#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Presence, XMPP user -> SIP user (stoxd(8) PRESENCE, RFC 8048 §5.2,
RFC 6665, docs/mappings.md §2.2/§2.5), end to end: bob on slixmpp and a
real Prosody; the scripted SIP UA is stoxd's outbound proxy and plays the
SIP users' presence server (a notifier with real dialogs).

  bob subscribe -> SUBSCRIBE sip:alice@sip.test (Event: presence, Accept
  application/pidf+xml, From sip:bob@xmpp.test) -> 200 (To tag, Expires:
  120) + NOTIFY active with PIDF open "in the office" -> bob gets
  subscribed and alice's presence with that status; notes in English and
  German -> two <status xml:lang>; a malformed PIDF ->
  400 and nothing for bob; NOTIFY closed -> unavailable; bob unsubscribe
  -> SUBSCRIBE Expires: 0 in the same dialog -> 200 -> unsubscribed; 403 to
  another subscription -> bob gets unsubscribed; 423 Min-Expires: 150 ->
  the SUBSCRIBE is repeated with Expires: 150; a short grant (10 s) is
  refreshed inside the dialog before it runs out (same Call-ID, higher
  CSeq); SIGTERM -> no SUBSCRIBE Expires: 0 (the subscription is kept
  for the next start, stoxd(8) SIGNALS), bob gets unavailable for alice,
  stoxd exits 0 within 5 s.
"""

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stoxtest as st  # noqa: E402

PIDF_CT = st.PIDF_CT
BOB = "bob@" + st.XMPP_DOMAIN


def brief(msg):
    return msg.text(1200) if msg is not None else "(nothing arrived)"


def briefs(msgs):
    return "\n----\n".join(brief(m) for m in msgs) if msgs else "(none)"


class PresenceServer:
    """The SIP users' presence server, scripted: answers stoxd's SUBSCRIBEs
    (initial and in-dialog) from `plan[user]` — a list of (code, extra
    headers) consumed in order, then `grant` — and keeps one UAS Dialog per
    Call-ID so that NOTIFYs go inside it with rising CSeq."""

    def __init__(self, ua):
        self.ua = ua
        self.plan = {}        # user -> [(code, [(header, value)])]
        self.grant = {}       # user -> Expires granted by a 200 (default 120)
        self.dialogs = {}     # call-id -> Dialog
        self.tags = {}        # call-id -> our To tag
        ua.responder = self.respond

    def contact(self, user):
        return "<sip:%s@127.0.0.1:%d>" % (user, self.ua.port)

    def user_of(self, req):
        u = st.parse_sip_uri(req.ruri)
        return u["user"] if u else None

    def respond(self, req):
        if req.method != "SUBSCRIBE":
            return 200
        user = self.user_of(req)
        steps = self.plan.get(user) or []
        if steps:
            code, extra = steps.pop(0)
            return (code, None, list(extra))
        cid = req.get("call-id")
        tag = self.tags.setdefault(cid, st.rand_token(8))
        exp = req.get("expires")
        granted = self.grant.get(user, 120)
        if exp is not None and exp.strip().isdigit():
            granted = min(granted, int(exp))
        return (200, None, [("Contact", self.contact(user)), ("Expires", str(granted)), ("to-tag", tag)])

    def dialog(self, req):
        """The UAS dialog of an answered SUBSCRIBE (created on first use)."""
        cid = req.get("call-id")
        if cid not in self.dialogs:
            self.dialogs[cid] = st.Dialog.uas(self.ua, req, self.contact(self.user_of(req)))
        return self.dialogs[cid]


async def main(t):
    t0 = time.monotonic()
    env = await st.Env.start(t, users=("bob",), online=("bob",))
    ua, stoxd, pros = env.ua, env.stoxd, env.prosody
    bob = env.clients["bob"]
    await bob.fetch_roster()   # an "interested resource": gets subscribed/unsubscribed
    ps = PresenceServer(ua)
    t.ok(await env.wait_component(bob), "stoxd's component is connected to Prosody")

    def subscribe_for(user, pred=None):
        return lambda r: (r.ruri or "").startswith("sip:%s@%s" % (user, st.SIP_DOMAIN)) and (pred is None or pred(r))

    def expires_of(r):
        v = r.get("expires") if r is not None else None
        return int(v) if v is not None and v.strip().isdigit() else None

    def presence_from(user, pred):
        return lambda s: (s.frm or "").split("/")[0] == "%s@%s" % (user, st.COMPONENT) and pred(s)

    # -- 1. subscribe -> SUBSCRIBE; 200 + NOTIFY active open -> subscribed ---
    alice = "sip:alice@" + st.SIP_DOMAIN
    mark = ua.mark()
    bmark = bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="alice@%s" type="subscribe"/>' % st.COMPONENT)
    s1 = await ua.wait_request("SUBSCRIBE", subscribe_for("alice"), timeout=5, start=mark)
    accept = [a.split(";")[0].strip().lower() for a in (s1.get_all("accept") if s1 else [])]
    t.ok(s1 is not None and s1.ruri == alice and (s1.get("event") or "").split(";")[0].strip() == "presence"
         and PIDF_CT in accept and s1.uri_of("from") == "sip:" + BOB and s1.tag_of("from")
         and s1.uri_of("to") == alice and not s1.tag_of("to") and expires_of(s1) and s1.get("contact"),
         "bob's subscribe -> SUBSCRIBE sip:alice@sip.test (Event: presence, Accept: %s, From sip:%s, "
         "Expires, Contact)" % (PIDF_CT, BOB), brief(s1))
    if s1 is None:
        raise st.BailOut("no SUBSCRIBE from stoxd; the rest depends on it")
    t.ok(s1.response is not None and s1.response.code == 200,
         "the presence server answers it 200 (To tag, Expires: 120)", brief(s1.response))
    d1 = ps.dialog(s1)
    n = await d1.notify("active;expires=120", st.pidf_doc(alice, "open", "in the office", tuple_id="desk"))
    t.eq(n.code, 200, "NOTIFY in that dialog (active, PIDF open, note 'in the office') -> 200",
         brief(n.final) if n.final else repr(n))
    sb = await bob.expect(presence_from("alice", lambda s: s.type == "subscribed"), kind="presence", start=bmark)
    t.ok(sb is not None, "bob receives <presence type='subscribed' from='alice@sip.test'/>",
         "bob got: %r" % bob.since(bmark, kind=None))
    av = await bob.expect(presence_from("alice", lambda s: s.type is None), kind="presence", start=bmark)
    t.ok(av is not None and (av.frm or "").startswith("alice@%s/" % st.COMPONENT)
         and av.child_text("status") == "in the office",
         "bob receives <presence from='alice@sip.test/…'> with <status>in the office</status>",
         "bob got: %r" % bob.since(bmark, kind=None))
    t.ok(sb is None or av is None or bob.inbox.index(sb) < bob.inbox.index(av),
         "subscribed comes before the first presence", "bob got: %r" % bob.since(bmark, kind=None))

    # -- 1b. notes in two languages -> two <status xml:lang> (RFC 8048 Table 2)
    bmark = bob.mark()
    two = st.pidf_doc(alice, "open", "in the office", tuple_id="desk", lang="en").replace(
        "</tuple>", '<note xml:lang="de">im B\u00fcro</note></tuple>')
    n = await d1.notify("active;expires=115", two)
    ml = await bob.expect(presence_from("alice", lambda s: s.type is None and len(s.children("status")) > 1),
                          kind="presence", start=bmark)
    # a <status/> without xml:lang is in the stanza's language (RFC 6121 §4.7.2.2)
    langs = sorted(((c.get("{%s}lang" % st.NS_XML) or ml.lang), c.text) for c in ml.children("status")) \
        if ml is not None else None
    t.ok(n.code == 200 and langs == [("de", "im B\u00fcro"), ("en", "in the office")],
         "a NOTIFY with notes in English and German -> bob's presence from alice carries both, "
         "as <status xml:lang='en'> and <status xml:lang='de'>",
         "%r\n%r\nbob got: %r" % (n, langs, [m.text for m in bob.since(bmark, kind=None)]))

    # -- 2. malformed PIDF -> 400, nothing for bob ------------------------
    bmark = bob.mark()
    bad = '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="%s"><tuple id="x">' \
          '<status><basic>closed</basic></status><note>half' % alice
    n = await d1.notify("active;expires=110", bad)
    t.eq(n.code, 400, "NOTIFY with a malformed PIDF -> 400", brief(n.final) if n.final else repr(n))
    await asyncio.sleep(1.0)
    got = bob.since(bmark, "presence", lambda s: (s.frm or "").startswith("alice@"))
    t.ok(not got, "... and bob sees nothing new from alice", repr(got))

    # -- 3. NOTIFY closed -> unavailable --------------------------------
    bmark = bob.mark()
    n = await d1.notify("active;expires=100", st.pidf_doc(alice, "closed", "gone home", tuple_id="desk"))
    un = await bob.expect(presence_from("alice", lambda s: s.type == "unavailable"), kind="presence", start=bmark)
    t.ok(n.code == 200 and un is not None, "NOTIFY basic closed -> 200, bob receives unavailable from alice",
         "%r\nbob got: %r" % (n, bob.since(bmark, kind=None)))

    # -- 4. unsubscribe -> SUBSCRIBE Expires: 0 in the dialog -> unsubscribed
    mark = ua.mark()
    pmark = pros.log_mark()
    bob.send_raw('<presence xmlns="jabber:client" to="alice@%s" type="unsubscribe"/>' % st.COMPONENT)
    s0 = await ua.wait_request("SUBSCRIBE", lambda r: r.get("call-id") == s1.get("call-id"), timeout=5, start=mark)
    t.ok(s0 is not None and expires_of(s0) == 0 and d1.matches(s0) and s0.cseq_num > s1.cseq_num,
         "bob's unsubscribe -> SUBSCRIBE Expires: 0 in the same dialog (Call-ID, tags, higher CSeq)",
         "%s\nfirst SUBSCRIBE:\n%s" % (brief(s0), brief(s1)))
    t.ok(s0 is not None and s0.response is not None and s0.response.code == 200, "answered 200",
         brief(s0.response if s0 else None))
    # Prosody drops an inbound unsubscribed once bob's roster says he is no
    # longer subscribed (RFC 6121 §3.3.3), so bob's client cannot see it:
    # read what the component sent from Prosody's log.
    await st.wait_until(lambda: any(a.get("type") == "unsubscribed"
                                    for _, a in pros.component_stanzas(pmark, "presence")), 5)
    sent = pros.component_stanzas(pmark, "presence")
    t.ok(any(a.get("type") == "unsubscribed" and a.get("from", "").split("/")[0] == "alice@" + st.COMPONENT
             and a.get("to", "").split("/")[0] == BOB for _, a in sent),
         "the gateway sends bob <presence type='unsubscribed' from='alice@sip.test'/> (seen in Prosody's log)",
         "component presence stanzas: %r" % sent)
    # the notifier's final NOTIFY (RFC 6665 §4.1.2.3: an unsubscribe
    # triggers it; docs/mappings.md §2.2: the gateway answers it 200)
    bmark = bob.mark()
    fin = await d1.notify("terminated;reason=timeout")
    t.eq(fin.code, 200, "the notifier's final NOTIFY terminated after the unsubscribe -> 200 "
         "(RFC 6665 §4.1.2.3, docs/mappings.md §2.2)", brief(fin.final) if fin.final else repr(fin))
    await asyncio.sleep(0.5)
    got = bob.since(bmark, "presence", lambda s: (s.frm or "").startswith("alice@"))
    t.ok(not got, "... and bob hears nothing more of alice", "bob got: %r" % got)

    # -- 5. 403 -> unsubscribed ----------------------------------------
    ps.plan["carol"] = [(403, [])]
    mark = ua.mark()
    bmark = bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="carol@%s" type="subscribe"/>' % st.COMPONENT)
    sc = await ua.wait_request("SUBSCRIBE", subscribe_for("carol"), timeout=5, start=mark)
    u = await bob.expect(presence_from("carol", lambda s: s.type == "unsubscribed"), kind="presence", start=bmark)
    t.ok(sc is not None and u is not None,
         "a subscription answered 403 -> bob receives unsubscribed from carol@sip.test",
         "%s\nbob got: %r" % (brief(sc), bob.since(bmark, kind=None)))
    await asyncio.sleep(0.3)
    again = [r for r in ua.requests_since(mark, "SUBSCRIBE") if (r.ruri or "").startswith("sip:carol@")]
    t.eq(len(again), 1, "... and stoxd does not SUBSCRIBE again at once after the 403 (no later retry either: test-presence, x2s/failures)", briefs(again))

    # -- 6. 423 Min-Expires: 150 -> Expires: 150; short grant refreshed ----
    ps.plan["dave"] = [(423, [("Min-Expires", "150")])]
    ps.grant["dave"] = 10
    mark = ua.mark()
    bmark = bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="dave@%s" type="subscribe"/>' % st.COMPONENT)
    dv1 = await ua.wait_request("SUBSCRIBE", subscribe_for("dave"), timeout=5, start=mark)
    dv2 = await ua.wait_request("SUBSCRIBE", subscribe_for("dave", lambda r: r is not dv1), timeout=5, start=mark)
    t.ok(dv1 is not None and dv1.response is not None and dv1.response.code == 423
         and dv2 is not None and expires_of(dv2) == 150,
         "423 with Min-Expires: 150 -> stoxd SUBSCRIBEs again with Expires: 150",
         "first:\n%s\nsecond:\n%s" % (brief(dv1), brief(dv2)))
    if dv2 is not None and dv2.response is not None and dv2.response.code == 200:
        d2 = ps.dialog(dv2)
        granted_at = dv2.response.received_at
        await d2.notify("active;expires=10", st.pidf_doc("sip:dave@" + st.SIP_DOMAIN, "open", "around", tuple_id="d1"))
        ref = await ua.wait_request("SUBSCRIBE", lambda r: r.get("call-id") == dv2.get("call-id"),
                                    timeout=11, start=ua.requests.index(dv2) + 1)
        late = ref.received_at - granted_at if ref else None
        t.ok(ref is not None and d2.matches(ref) and ref.cseq_num > dv2.cseq_num and late < 10.0
             and expires_of(ref) not in (None, 0),
             "a 10 s grant is refreshed inside the dialog before it runs out (same Call-ID and tags, "
             "higher CSeq, Expires > 0)%s" % (" after %.1fs" % late if late is not None else ""),
             "200 (Expires: 10) sent:\n%s\nrefresh:\n%s" % (brief(dv2.response), brief(ref)))
        if ref is not None:
            await d2.notify("active;expires=10", st.pidf_doc("sip:dave@" + st.SIP_DOMAIN, "open", "around", tuple_id="d1"))
    else:
        t.ok(False, "a 10 s grant is refreshed inside the dialog before it runs out",
             "no second SUBSCRIBE for dave answered 200: %s" % brief(dv2))

    # -- 7. SIGTERM -> kept (no Expires: 0), unavailable to bob, exit 0 in 5 s
    mark = ua.mark()
    bmark = bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="alice@%s" type="subscribe"/>' % st.COMPONENT)
    s2 = await ua.wait_request("SUBSCRIBE", subscribe_for("alice"), timeout=5, start=mark)
    if s2 is not None and s2.response is not None and s2.response.code == 200:
        d3 = ps.dialog(s2)
        await d3.notify("active;expires=120", st.pidf_doc(alice, "open", "back again", tuple_id="desk"))
    av = await bob.expect(presence_from("alice", lambda s: s.type is None and s.child_text("status") == "back again"),
                          kind="presence", start=bmark)
    t.ok(s2 is not None and av is not None, "bob subscribes to alice again: new dialog, she is online",
         "%s\nbob got: %r" % (brief(s2), bob.since(bmark, kind=None)))
    # baresip 1.0 publishes <basic>unknown</basic> before its user chose a
    # state, and Kamailio passes it on: accepted, that tuple says nothing
    if s2 is not None and s2.response is not None and s2.response.code == 200:
        bmark = bob.mark()
        odd = st.pidf_doc(alice, "unknown", None, tuple_id="phone").replace(
            "</presence>", '<tuple id="desk"><status><basic>open</basic></status>'
            "<note>still here</note></tuple></presence>")
        n = await d3.notify("active;expires=120", odd)
        av = await bob.expect(presence_from("alice", lambda s: s.type is None and s.child_text("status") == "still here"),
                              kind="presence", start=bmark, timeout=3)
        t.ok(n.code == 200 and av is not None,
             "a NOTIFY with <basic>unknown</basic> in one tuple -> 200, the other tuple reaches bob",
             "NOTIFY answered %r\nbob got: %r" % (n, bob.since(bmark, kind=None)))
    else:
        t.ok(False, "a NOTIFY with <basic>unknown</basic> in one tuple -> 200, the other tuple reaches bob",
             "no dialog to send it in")
    mark = ua.mark()
    bmark = bob.mark()
    stop = asyncio.ensure_future(stoxd.stop())
    code, secs = await stop
    await asyncio.sleep(0.5)   # anything stoxd sent before it exited has arrived
    end = [r for r in ua.requests_since(mark, "SUBSCRIBE") if s2 is not None and r.get("call-id") == s2.get("call-id")]
    t.ok(s2 is not None and not end,
         "SIGTERM: the presence server receives no SUBSCRIBE (Expires: 0) in alice's dialog: it is kept",
         "%s\nall requests since SIGTERM:\n%s" % (briefs(end), briefs(ua.requests_since(mark))))
    u = await bob.expect(presence_from("alice", lambda s: s.type == "unavailable"), kind="presence",
                         start=bmark, timeout=2)
    t.ok(u is not None, "SIGTERM: bob receives unavailable from alice",
         "bob got: %r" % bob.since(bmark, kind=None))
    t.ok(code == 0 and secs <= 5.0, "stoxd exits 0 within 5 s (%.2fs)" % secs,
         "exit %r after %.2fs\n%s" % (code, secs, stoxd.log_tail(30)))
    t.ok(not ua.errors, "no unparsable SIP from stoxd", "\n".join(ua.errors))
    t.diag("total %.1fs" % (time.monotonic() - t0))


st.run(main)
