#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Presence across a restart of stoxd (stoxd(8) PRESENCE
and FILES: the XMPP users' follows of SIP users, their
approvals of SIP watchers and, across a crash, the SIP watchers' dialogs
survive in state-dir/stox.db), end to end: one Prosody, one scripted SIP UA that is both
stoxd's outbound proxy (alice@sip.test's presence server) and romeo's
phone, and three stoxd processes one after the other on the same SIP port
and the same state-dir.

  set-up: bob follows alice@sip.test (SUBSCRIBE -> 200, NOTIFY active open
  "before"); romeo SUBSCRIBEs to juliet@xmpp.test, juliet approves, romeo's
  dialog is active with her presence.
  SIGTERM (stoxd(8) SIGNALS): romeo's dialog gets a NOTIFY that keeps it
  active and shows juliet closed, alice's dialog gets NO SUBSCRIBE
  Expires: 0, bob gets unavailable from alice; exit 0 within 5 s.  Start
  again: with no action of romeo, his OLD dialog gets juliet's current
  presence; a new SUBSCRIBE for alice from sip:bob@xmpp.test (new
  Call-ID) -> NOTIFY "after" reaches bob; a second SUBSCRIBE from romeo
  is active at once (the approval was kept; no new subscribe to juliet);
  juliet's next status reaches both dialogs.
  SIGKILL: start again -> the follow is re-established; romeo's dialogs
  are KEPT: a NOTIFY with juliet's current presence arrives in each (same
  Call-ID and tags, CSeq above every earlier one), a refresh in one gets
  200, juliet's next status reaches them; a new SUBSCRIBE from romeo is
  one more dialog; SIGTERM keeps all three again.
  Retire (on-stop = end-subscriptions): a stoxd started with it on the
  same state-dir brings the dialogs back, then its SIGTERM ends every
  subscription on the wire (terminated;reason=noresource with closed in
  each of romeo's dialogs, SUBSCRIBE Expires: 0 in bob's dialog to alice,
  unavailable to bob) and leaves no watcher dialog in stox.db.
  Finally: --check-config passes.
"""

import asyncio
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stoxtest as st  # noqa: E402

PIDF_CT = st.PIDF_CT
BOB = "bob@" + st.XMPP_DOMAIN
JULIET = "juliet@" + st.XMPP_DOMAIN
JULIET_URI = "sip:" + JULIET
ALICE_URI = "sip:alice@" + st.SIP_DOMAIN


def brief(msg):
    return msg.text(1200) if msg is not None else "(nothing arrived)"


def briefs(msgs):
    return "\n----\n".join(brief(m) for m in msgs) if msgs else "(none)"


def expires_of(r):
    v = r.get("expires") if r is not None else None
    return int(v) if v is not None and v.strip().isdigit() else None


class Peer:
    """The SipUA's answers: stoxd's SUBSCRIBEs to alice (initial and in
    dialog) get 200 with a stable To tag per Call-ID, Contact and Expires;
    everything else (NOTIFYs to romeo) 200.  One UAS Dialog per Call-ID for
    alice's NOTIFYs."""

    def __init__(self, ua):
        self.ua = ua
        self.tags = {}
        self.dialogs = {}
        ua.responder = self.respond

    def contact(self, user):
        return "<sip:%s@127.0.0.1:%d>" % (user, self.ua.port)

    def respond(self, req):
        if req.method != "SUBSCRIBE":
            return 200
        tag = self.tags.setdefault(req.get("call-id"), st.rand_token(8))
        granted = 120
        exp = expires_of(req)
        if exp is not None:
            granted = min(granted, exp)
        return (200, None, [("Contact", self.contact("alice")), ("Expires", str(granted)), ("to-tag", tag)])

    def dialog(self, req):
        cid = req.get("call-id")
        if cid not in self.dialogs:
            self.dialogs[cid] = st.Dialog.uas(self.ua, req, self.contact("alice"))
        return self.dialogs[cid]


async def main(t):
    t0 = time.monotonic()
    env = await st.Env.start(t, users=("bob", "juliet"), online=("bob", "juliet"))
    ua, pros = env.ua, env.prosody
    sd1 = env.stoxd
    bob, juliet = env.clients["bob"], env.clients["juliet"]
    await bob.fetch_roster()      # an "interested resource": gets subscribed/unsubscribed
    await juliet.fetch_roster()
    peer = Peer(ua)
    t.ok(await env.wait_component(bob), "stoxd's component is connected to Prosody")

    def alice_subscribe(pred=None):
        return lambda r: (r.ruri or "").startswith(ALICE_URI) and (pred is None or pred(r))

    def presence_from(user, pred):
        return lambda s: (s.frm or "").split("/")[0] == "%s@%s" % (user, st.COMPONENT) and pred(s)

    async def romeo_subscribe(expires=600):
        hdrs = [("Contact", "<sip:romeo@127.0.0.1:%d>" % ua.port), ("Event", "presence"),
                ("Expires", str(expires)), ("Accept", PIDF_CT), st.asserted("sip:romeo@" + st.SIP_DOMAIN)]
        return await ua.request("SUBSCRIBE", JULIET_URI, from_uri="sip:romeo@" + st.SIP_DOMAIN,
                                omit=("contact",), headers=hdrs)

    async def next_notify(call_id, start, timeout=5.0, pred=None):
        return await ua.wait_request("NOTIFY", lambda r: r.get("call-id") == call_id and (pred is None or pred(r)),
                                     timeout=timeout, start=start)

    def notes_of(r):
        return (st.pidf_info(r.body) or {}).get("notes") or []

    def start_again(name):
        sd = st.Stoxd(t, prosody=pros, proxy_port=ua.port, sip_port=sd1.sip_port,
                      state_dir=sd1.state_dir, name=name)
        sd.start()
        return sd

    # -- 1a. bob follows alice ----------------------------------------------
    mark = ua.mark()
    bmark = bob.mark()
    bob.send_raw('<presence xmlns="jabber:client" to="alice@%s" type="subscribe"/>' % st.COMPONENT)
    s1 = await ua.wait_request("SUBSCRIBE", alice_subscribe(), timeout=5, start=mark)
    t.ok(s1 is not None and s1.uri_of("from") == "sip:" + BOB and s1.response is not None
         and s1.response.code == 200,
         "bob's subscribe -> SUBSCRIBE sip:alice@sip.test from sip:%s, answered 200" % BOB, brief(s1))
    if s1 is None:
        raise st.BailOut("no SUBSCRIBE for alice; the rest depends on it")
    d1 = peer.dialog(s1)
    n = await d1.notify("active;expires=120", st.pidf_doc(ALICE_URI, "open", "before", tuple_id="desk"))
    av = await bob.expect(presence_from("alice", lambda s: s.type is None and s.child_text("status") == "before"),
                          kind="presence", start=bmark)
    sb = bob.since(bmark, "presence", presence_from("alice", lambda s: s.type == "subscribed"))
    t.ok(n.code == 200 and sb and av is not None,
         "NOTIFY active open 'before' -> bob gets subscribed and alice available with status 'before'",
         "NOTIFY: %r\nbob got: %r" % (n, bob.since(bmark, kind=None)))

    # -- 1b. romeo watches juliet, she approves -----------------------------
    mark = ua.mark()
    jmark = juliet.mark()
    sub = await romeo_subscribe()
    if sub.code != 200:
        raise st.BailOut("romeo's SUBSCRIBE not accepted (%r)" % sub)
    rcid1 = sub.request.get("call-id")
    rd1 = st.Dialog.uac(ua, sub)
    p0 = await next_notify(rcid1, mark, timeout=3)
    s = await juliet.expect(presence_from("romeo", lambda s: s.type == "subscribe"), kind="presence",
                            timeout=5, start=jmark)
    t.ok(st.substate(p0)[0] == "pending" and s is not None,
         "romeo SUBSCRIBEs to juliet -> 200 + NOTIFY pending; juliet gets subscribe from romeo@sip.test",
         "%s\njuliet got: %r" % (brief(p0), juliet.since(jmark, kind=None)))
    juliet.send_raw('<presence xmlns="jabber:client" to="romeo@%s" type="subscribed"/>' % st.COMPONENT)
    a1 = await next_notify(rcid1, mark, pred=lambda r: st.substate(r)[0] == "active"
                           and (st.pidf_info(r.body) or {}).get("basic") == ["open"])
    t.ok(a1 is not None, "juliet approves -> romeo's dialog gets NOTIFY active with her presence (open)",
         briefs(ua.requests_since(mark, "NOTIFY")))
    await asyncio.sleep(0.3)   # the store is written when the loop is idle

    # -- 2. graceful restart: the subscriptions are kept -------------------
    mark = ua.mark()
    bmark = bob.mark()
    t_term = time.monotonic()
    stop = asyncio.ensure_future(sd1.stop())
    kept_n = await next_notify(rcid1, mark, timeout=6)
    code, secs = await stop
    exited = t_term + secs
    await asyncio.sleep(0.5)   # anything stoxd sent before it exited has arrived
    state = st.substate(kept_n)
    t.ok(kept_n is not None and state[0] == "active" and rd1.matches(kept_n)
         and (st.pidf_info(kept_n.body) or {}).get("basic") == ["closed"] and kept_n.received_at <= exited
         and not [r for r in ua.requests_since(mark, "NOTIFY")
                  if r.get("call-id") == rcid1 and st.substate(r)[0] == "terminated"],
         "SIGTERM: romeo's dialog gets a NOTIFY that keeps it active and shows juliet closed, before stoxd "
         "exits, and none that ends it",
         "%s\n(stoxd exited %.2fs after SIGTERM)" % (briefs(ua.requests_since(mark, "NOTIFY")), secs))
    unsub = [r for r in ua.requests_since(mark, "SUBSCRIBE") if r.get("call-id") == s1.get("call-id")]
    t.ok(not unsub, "SIGTERM: no SUBSCRIBE (Expires: 0) in bob's dialog to alice: the subscription is kept",
         "%s\nall requests since SIGTERM:\n%s" % (briefs(unsub), briefs(ua.requests_since(mark))))
    u = await bob.expect(presence_from("alice", lambda s: s.type == "unavailable"), kind="presence",
                         start=bmark, timeout=2)
    t.ok(u is not None, "SIGTERM: bob receives unavailable from alice", "bob got: %r" % bob.since(bmark, kind=None))
    t.ok(code == 0 and secs <= 5.0, "stoxd exits 0 within 5 s (%.2fs)" % secs,
         "exit %r after %.2fs\n%s" % (code, secs, sd1.log_tail(30)))
    db = os.path.join(sd1.state_dir, "stox.db")
    t.ok(st.stored_watch_dialogs(sd1.state_dir) == (1, 1),
         "state-dir/stox.db keeps romeo's dialog after the stop (WATCH record and SIP state)",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(sd1.state_dir),))

    mark = ua.mark()
    bmark = bob.mark()
    pmark = pros.log_mark()
    t_start = time.monotonic()
    sd2 = start_again("stoxd-2")
    s2 = await ua.wait_request("SUBSCRIBE", alice_subscribe(lambda r: expires_of(r) != 0), timeout=6, start=mark)
    late = s2.received_at - t_start if s2 else None
    t.ok(s2 is not None and s2.get("call-id") != s1.get("call-id") and s2.uri_of("from") == "sip:" + BOB
         and not s2.tag_of("to") and expires_of(s2) and late <= 5.5,
         "restart on the same state-dir: a NEW SUBSCRIBE for alice from sip:%s (new Call-ID, no To tag) "
         "within ~5 s%s" % (BOB, " (%.1fs)" % late if late is not None else ""),
         "%s\nall requests since the start:\n%s" % (brief(s2), briefs(ua.requests_since(mark))))
    if s2 is None:
        raise st.BailOut("the follow did not come back; the rest depends on it")
    await sd2.wait_ready(15, ua=ua)
    back = await next_notify(rcid1, mark, timeout=8,
                             pred=lambda r: (st.pidf_info(r.body) or {}).get("basic") == ["open"])
    t.ok(back is not None and rd1.matches(back) and st.substate(back)[0] == "active",
         "after the new start, with no action of romeo, his OLD dialog gets NOTIFY active with juliet's "
         "presence (open)", "all NOTIFYs since the start:\n%s" % briefs(ua.requests_since(mark, "NOTIFY")))
    d2 = peer.dialog(s2)
    n = await d2.notify("active;expires=120", st.pidf_doc(ALICE_URI, "open", "after", tuple_id="desk"))
    av = await bob.expect(presence_from("alice", lambda s: s.type is None and s.child_text("status") == "after"),
                          kind="presence", start=bmark, timeout=6)
    t.ok(n.code == 200 and av is not None,
         "200, then NOTIFY active open 'after' -> bob sees alice available with status 'after'",
         "NOTIFY: %r\nbob got: %r" % (n, bob.since(bmark, kind=None)))
    await asyncio.sleep(0.3)
    sent = [a for _, a in pros.component_stanzas(pmark, "presence")
            if a.get("type") == "subscribed" and a.get("from", "").split("/")[0] == "alice@" + st.COMPONENT]
    got = bob.since(bmark, "presence", presence_from("alice", lambda s: s.type == "subscribed"))
    t.diag("after the restart the component sent bob %d 'subscribed' from alice (Prosody log); bob's client "
           "saw %d (recorded, not asserted)" % (len(sent), len(got)))

    mark = ua.mark()
    pmark = pros.log_mark()
    jmark = juliet.mark()
    sub = await romeo_subscribe()
    rcid2 = sub.request.get("call-id")
    first = await next_notify(rcid2, mark, timeout=3)
    t.ok(sub.code == 200 and first is not None and st.substate(first)[0] == "active",
         "a second SUBSCRIBE from romeo -> 200 and the first NOTIFY is active (approval restored)",
         "%r\n%s" % (sub, briefs(ua.requests_since(mark, "NOTIFY"))))
    if sub.code != 200:
        raise st.BailOut("romeo's new SUBSCRIBE not accepted (%r)" % sub)
    rd2 = st.Dialog.uac(ua, sub)
    op = await next_notify(rcid2, mark, pred=lambda r: (st.pidf_info(r.body) or {}).get("basic") == ["open"])
    t.ok(op is not None, "... and juliet's presence follows (PIDF open)", briefs(ua.requests_since(mark, "NOTIFY")))
    subs = [a for _, a in pros.component_stanzas(pmark, "presence") if a.get("type") == "subscribe"]
    t.ok(not subs and not juliet.since(jmark, "presence", lambda s: s.type == "subscribe"),
         "no new subscribe to juliet (Prosody log of the component, juliet's inbox)",
         "component presence stanzas: %r\njuliet got: %r" % (pros.component_stanzas(pmark, "presence"),
                                                             juliet.since(jmark, kind=None)))
    mark = ua.mark()
    juliet.send_raw('<presence xmlns="jabber:client"><show>away</show><status>after restart</status></presence>')
    ch = {}
    for cid in (rcid1, rcid2):
        ch[cid] = await next_notify(cid, mark, pred=lambda r: "after restart" in notes_of(r))
    t.ok(all(ch.values()) and all(st.substate(m)[0] == "active" for m in ch.values()),
         "juliet changes her status -> both of romeo's dialogs (the kept one and the new one) get NOTIFY "
         "active with note 'after restart'", briefs(ua.requests_since(mark, "NOTIFY")))

    # -- 3. crash restart ---------------------------------------------------
    t.ok(await st.wait_watch_stored(sd2.state_dir, 2),
         "romeo's two dialogs are in stox.db, both halves (WATCH record and SIP state), before the crash",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(sd2.state_dir),))
    seqs = [r.cseq_num for r in ua.requests_since(0, "NOTIFY") if r.get("call-id") == rcid2]
    code, secs = await sd2.stop(sig=signal.SIGKILL)
    t.ok(code == -signal.SIGKILL, "SIGKILL stoxd (by PID)", "exit %r" % code)
    mark = ua.mark()
    bmark = bob.mark()
    t_start = time.monotonic()
    sd3 = start_again("stoxd-3")
    old = {s1.get("call-id"), s2.get("call-id")}
    s3 = await ua.wait_request("SUBSCRIBE", alice_subscribe(lambda r: expires_of(r) != 0), timeout=6, start=mark)
    late = s3.received_at - t_start if s3 else None
    t.ok(s3 is not None and s3.get("call-id") not in old and s3.uri_of("from") == "sip:" + BOB
         and not s3.tag_of("to") and late <= 5.5,
         "after the crash the follow is re-established: new SUBSCRIBE for alice (new Call-ID)%s"
         % (" (%.1fs)" % late if late is not None else ""),
         "%s\nall requests since the start:\n%s" % (brief(s3), briefs(ua.requests_since(mark))))
    await sd3.wait_ready(15, ua=ua)
    if s3 is not None:
        n = await peer.dialog(s3).notify("active;expires=120",
                                         st.pidf_doc(ALICE_URI, "open", "after crash", tuple_id="desk"))
        av = await bob.expect(presence_from("alice", lambda s: s.type is None
                                            and s.child_text("status") == "after crash"),
                              kind="presence", start=bmark, timeout=6)
        t.ok(n.code == 200 and av is not None, "NOTIFY 'after crash' -> bob sees it",
             "NOTIFY: %r\nbob got: %r" % (n, bob.since(bmark, kind=None)))
    else:
        t.ok(False, "NOTIFY 'after crash' -> bob sees it", "no SUBSCRIBE to answer")

    # romeo's dialogs survived the crash: stoxd probes juliet once the
    # component is up and NOTIFYs her presence in the OLD dialogs.
    kept = await next_notify(rcid2, mark, timeout=6,
                             pred=lambda r: "after restart" in notes_of(r))
    t.ok(kept is not None and rd2.matches(kept) and st.substate(kept)[0] == "active"
         and seqs and kept.cseq_num > max(seqs),
         "after the crash romeo's pre-crash dialog gets NOTIFY active with juliet's presence "
         "(same Call-ID and tags, CSeq %s > %s)" % (kept.cseq_num if kept else "?", max(seqs) if seqs else "?"),
         "%s\nall NOTIFYs since the start:\n%s" % (brief(kept), briefs(ua.requests_since(mark, "NOTIFY"))))
    kept1 = await next_notify(rcid1, mark, timeout=3, pred=lambda r: "after restart" in notes_of(r))
    t.ok(kept1 is not None and rd1.matches(kept1),
         "... and so does the dialog kept since the first stoxd", briefs(ua.requests_since(mark, "NOTIFY")))
    mark = ua.mark()
    ref = await rd2.request("SUBSCRIBE", [("Event", "presence"), ("Accept", PIDF_CT), ("Expires", "600")])
    rn = await next_notify(rcid2, mark, timeout=3)
    t.ok(ref.code == 200 and expires_of(ref.final) == 600 and rn is not None and rd2.matches(rn)
         and st.substate(rn)[0] == "active",
         "a refresh SUBSCRIBE in romeo's pre-crash dialog -> 200 Expires: 600 and NOTIFY active in it",
         "%s\n%s" % (brief(ref.final) if ref.final else repr(ref), briefs(ua.requests_since(mark, "NOTIFY"))))
    mark = ua.mark()
    jmark = juliet.mark()
    sub = await romeo_subscribe()
    rcid3 = sub.request.get("call-id")
    first = await next_notify(rcid3, mark, timeout=3)
    t.ok(sub.code == 200 and first is not None and st.substate(first)[0] == "active",
         "a new SUBSCRIBE from romeo is a third dialog -> 200 and the first NOTIFY is active at once",
         "%r\n%s" % (sub, briefs(ua.requests_since(mark, "NOTIFY"))))
    await asyncio.sleep(0.3)
    mark = ua.mark()
    juliet.send_raw('<presence xmlns="jabber:client"><show>dnd</show><status>after crash</status></presence>')
    both = {}
    for cid in (rcid2, rcid3):
        both[cid] = await next_notify(cid, mark, pred=lambda r: "after crash" in notes_of(r))
    t.ok(all(both.values()) and rd2.matches(both[rcid2]),
         "juliet changes her status -> NOTIFY 'after crash' in the kept dialog and in the new one",
         briefs(ua.requests_since(mark, "NOTIFY")))
    t.ok(not juliet.since(jmark, "presence", lambda s: s.type == "subscribe"),
         "juliet is not asked again (the approval and the dialog were kept)",
         "juliet got: %r" % juliet.since(jmark, kind=None))

    # -- 4. SIGTERM keeps them all; a retiring stoxd ends them ----------------
    rd3 = st.Dialog.uac(ua, sub)
    rcids = (rcid1, rcid2, rcid3)
    t.ok(await st.wait_watch_stored(sd3.state_dir, 3),
         "romeo's three dialogs are in stox.db", "(records, sip_dialogs) = %r"
         % (st.stored_watch_dialogs(sd3.state_dir),))
    mark = ua.mark()
    code, secs = await sd3.stop()
    t.ok(code == 0 and secs <= 5.0, "SIGTERM: stoxd exits 0 within 5 s (%.2fs)" % secs,
         "exit %r\n%s" % (code, sd3.log_tail(30)))
    await asyncio.sleep(0.5)
    ns = ua.requests_since(mark, "NOTIFY")
    kept = {cid for cid in rcids
            if any(r.get("call-id") == cid and st.substate(r)[0] == "active" for r in ns)
            and not any(r.get("call-id") == cid and st.substate(r)[0] == "terminated" for r in ns)}
    t.ok(kept == set(rcids), "SIGTERM keeps all three of romeo's dialogs (NOTIFY active in each, none "
         "terminated)", briefs(ns))
    t.ok(st.stored_watch_dialogs(sd3.state_dir) == (3, 3), "... and stox.db still holds them",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(sd3.state_dir),))

    mark = ua.mark()
    bmark = bob.mark()
    sd4 = st.Stoxd(t, prosody=pros, proxy_port=ua.port, sip_port=sd1.sip_port, state_dir=sd1.state_dir,
                   name="stoxd-4", overrides={("gateway", "on-stop"): "end-subscriptions"})
    sd4.start()
    s4 = await ua.wait_request("SUBSCRIBE", alice_subscribe(lambda r: expires_of(r) != 0), timeout=6, start=mark)
    await sd4.wait_ready(15, ua=ua)
    if s4 is not None:
        await peer.dialog(s4).notify("active;expires=120", st.pidf_doc(ALICE_URI, "open", "retiring",
                                                                       tuple_id="desk"))
    av = await bob.expect(presence_from("alice", lambda s: s.type is None and s.child_text("status") == "retiring"),
                          kind="presence", start=bmark, timeout=6)
    back = {cid: await next_notify(cid, mark, timeout=6, pred=lambda r: st.substate(r)[0] == "active"
                                   and "after crash" in notes_of(r)) for cid in rcids}
    t.ok(s4 is not None and av is not None and all(back.values()),
         "a stoxd with on-stop = end-subscriptions on the same state-dir: bob follows alice again and "
         "romeo's three dialogs get juliet's presence", "%s\nbob got: %r\n%s" % (
             brief(s4), bob.since(bmark, kind=None), briefs(ua.requests_since(mark, "NOTIFY"))))

    mark = ua.mark()
    bmark = bob.mark()
    code, secs = await sd4.stop()
    t.ok(code == 0 and secs <= 5.0, "retire: SIGTERM -> exit 0 within 5 s (%.2fs)" % secs,
         "exit %r\n%s" % (code, sd4.log_tail(30)))
    await asyncio.sleep(0.5)
    ns = ua.requests_since(mark, "NOTIFY")
    ended = {}
    for cid in rcids:
        ended[cid] = next((r for r in ns if r.get("call-id") == cid and st.substate(r)[0] == "terminated"), None)
    t.ok(all(m is not None and st.substate(m)[1].get("reason") == "noresource"
             and (st.pidf_info(m.body) or {}).get("basic") == ["closed"] for m in ended.values())
         and rd1.matches(ended[rcid1]) and rd3.matches(ended[rcid3]),
         "retire: each of romeo's dialogs gets NOTIFY terminated;reason=noresource with closed", briefs(ns))
    end = [r for r in ua.requests_since(mark, "SUBSCRIBE") if s4 is not None and r.get("call-id") == s4.get("call-id")]
    t.ok(end and expires_of(end[0]) == 0 and peer.dialog(s4).matches(end[0]),
         "retire: alice's UA gets SUBSCRIBE Expires: 0 in bob's dialog",
         "%s\nall requests since SIGTERM:\n%s" % (briefs(end), briefs(ua.requests_since(mark))))
    u = await bob.expect(presence_from("alice", lambda s: s.type == "unavailable"), kind="presence",
                         start=bmark, timeout=2)
    t.ok(u is not None, "retire: bob receives unavailable from alice", "bob got: %r" % bob.since(bmark, kind=None))
    t.ok(st.stored_watch_dialogs(sd4.state_dir) == (0, 0),
         "retire: no watcher dialog is left in stox.db (WATCH records, SIP state)",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(sd4.state_dir),))
    t.ok("ending every subscription" in sd4.log_text(), "retire: the journal says the stop ends every "
         "subscription", sd4.log_tail(20))

    # -- 5. configuration ---------------------------------------------------
    rc, out = await st.run_stoxd(["-c", sd4.config, "--check-config"])
    t.eq(rc, 0, "--check-config on the configuration with on-stop = end-subscriptions -> exit 0", out)
    t.ok(not ua.errors, "no unparsable SIP from stoxd", "\n".join(ua.errors))
    t.diag("total %.1fs" % (time.monotonic() - t0))


st.run(main, timeout=110)
