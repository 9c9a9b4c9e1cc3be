#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Presence each way between real SIP clients and XMPP users, through
Kamailio (docs/examples/kamailio-stox.cfg: its own presence server for
the SIP users) and stoxd:

  alice = baresip 1.0 (contacts juliet and romeo, ;presence=p2p),
  bob = linphonec 5.1 (friend juliet), carol = a scripted SIP publisher
  (digest auth), juliet and romeo = slixmpp users on Prosody.

  XMPP -> SIP: juliet approves alice and bob; online with status text,
  away, dnd, offline with status text, online again: each on the wire
  (the NOTIFY stoxd sends in each watcher's dialog, as Kamailio relays
  it) and as each client shows it.  romeo approves while unavailable and
  then logs in and out: his status text must survive.
  SIP -> XMPP: juliet follows alice, bob and carol; baresip online and
  offline, linphone online and (quitting) offline, carol away and dnd
  with status text (neither client can publish those): each on the wire
  (Kamailio's NOTIFY to stoxd) and as juliet receives it.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clients as cl  # noqa: E402
from clients import st  # noqa: E402

JULIET = "juliet@" + cl.XMPP_DOMAIN
ROMEO = "romeo@" + cl.XMPP_DOMAIN
ALICE = "alice@" + cl.SIP_DOMAIN
BOB = "bob@" + cl.SIP_DOMAIN
CAROL = "carol@" + cl.SIP_DOMAIN


def bare(jid):
    return (jid or "").split("/")[0]


async def main(t):
    s = await cl.Stack.start(t)
    table = cl.Table(t, "presence")
    kam = s.kam.port
    juliet = await s.xmpp("juliet")
    t.ok(await s.wait_component(juliet), "stoxd's component is connected (stack up in %.1fs)" % s.elapsed())
    juliet.send_raw('<presence xmlns="jabber:client"><status>at my desk ✍</status></presence>')

    j0 = juliet.mark()
    alice = await s.baresip("alice", contacts=["juliet", "romeo"])
    bob = await s.linphone("bob", friends=["juliet"])

    def watcher_notifies(client_port, start, target=JULIET):
        """NOTIFYs for `target` as Kamailio relays them to the client."""
        return s.wire.since(start, lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam
                            and (st.parse_sip_uri(m.ruri) or {}).get("port") == client_port
                            and st.name_addr_uri(m.get("from") or "") == "sip:" + target)

    async def wait_watcher_notify(client, pred, start, target=JULIET, timeout=6):
        return await s.wire.wait(lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam
                                 and (st.parse_sip_uri(m.ruri) or {}).get("port") == client.sip_port
                                 and st.name_addr_uri(m.get("from") or "") == "sip:" + target
                                 and pred(cl.pidf_of(m) or {}, m), timeout=timeout, start=start)

    subs = await st.wait_until(lambda: {bare(x.frm) for x in juliet.since(
        j0, kind="presence", pred=lambda x: x.type == "subscribe")} >= {ALICE, BOB}, 10)
    t.ok(subs, "baresip's and linphone's SUBSCRIBEs reach juliet as subscribe from %s and %s" % (ALICE, BOB),
         "juliet got: %r" % juliet.since(j0, kind=None))

    # -- XMPP -> SIP: approval ---------------------------------------------
    w0 = s.wire.mark()
    bob_n0 = len(bob.friend_statuses(JULIET))
    for who in (ALICE, BOB):
        juliet.send_raw('<presence xmlns="jabber:client" to="%s" type="subscribed"/>' % who)
    cells = {}
    for name, client in (("baresip", alice), ("linphone", bob)):
        n = await wait_watcher_notify(client, lambda i, m: i.get("basic") == ["open"], w0)
        info = cl.pidf_of(n) or {}
        t.ok(n is not None and st.substate(n)[0] == "active" and info.get("notes") == ["at my desk ✍"],
             "approved -> %s's dialog gets NOTIFY active, PIDF open, note 'at my desk ✍'" % name,
             "%r\n%s" % (info, cl.summaries(watcher_notifies(client.sip_port, w0))))
        cells[name] = n
    await approval_gives_one_notify(t, s, w0, {"baresip": alice, "linphone": bob}, watcher_notifies)
    shown_b = await alice.wait_contact_status(JULIET, "Online")
    shown_l = await bob.wait_friend_status(JULIET, "Online", start=bob_n0)
    t.ok(shown_b == "Online" and shown_l == "Online", "baresip and linphone show juliet Online",
         "baresip: %r, linphone: %r" % (shown_b, bob.friend_statuses(JULIET)))
    table.row("XMPP online + status (after approval)", "%s (NOTIFY open, note)" % shown_b,
              "%s (NOTIFY open, note)" % shown_l, "juliet approves; sends available + 'at my desk ✍'")

    # -- XMPP -> SIP: away, dnd, offline, online --------------------------
    steps = [("away", '<show>away</show><status>out to lunch ☕</status>', True, "away", "away",
              "out to lunch ☕", None, "Away"),
             ("dnd", '<show>dnd</show><status>in a meeting 📅</status>', True, "dnd", "busy",
              "in a meeting 📅", "Busy", "Busy"),
             ("offline", None, False, None, None, "Gone home 🏠", "Offline", "Offline"),
             ("online", '<status>back again</status>', True, None, None, "back again", "Online", "Online")]
    for label, inner, avail, show, activity, note, want_b, want_l in steps:
        w0 = s.wire.mark()
        n0 = len(bob.friend_statuses(JULIET))
        if avail:
            juliet.send_raw('<presence xmlns="jabber:client">%s</presence>' % inner)
        else:
            juliet.send_raw('<presence xmlns="jabber:client" type="unavailable"><status>%s</status></presence>'
                            % note)
        basic = "open" if avail else "closed"
        got = {}
        for name, client in (("baresip", alice), ("linphone", bob)):
            n = await wait_watcher_notify(client, lambda i, m: i.get("basic") == [basic], w0)
            got[name] = cl.pidf_of(n) or {}
            want_ok = (n is not None and got[name].get("notes") == [note]
                       and (show is None or got[name].get("shows") == [show])
                       and (activity is None or activity in got[name].get("activities", [])))
            t.ok(want_ok, "XMPP %s -> %s's dialog gets NOTIFY: basic %s%s%s, note %r"
                 % (label, name, basic, ", <show>%s</show>" % show if show else "",
                    ", rpid:%s" % activity if activity else "", note),
                 "%r\n%s" % (got[name], cl.summaries(watcher_notifies(client.sip_port, w0))))
        if want_b is not None:
            shown_b = await alice.wait_contact_status(JULIET, want_b)
        else:
            # TRAP (baresip 1.0): it reads RPID away as closed and shows
            # Offline; only the wire can show that away arrived
            await st.wait_until(lambda: False, 0.5)
            shown_b = await alice.contact_status(JULIET)
        shown_l = await bob.wait_friend_status(JULIET, want_l, start=n0)
        t.ok((want_b is None or shown_b == want_b) and shown_l == want_l,
             "XMPP %s: baresip shows %s, linphone shows %s" % (label, want_b or "(not checked: away)", want_l),
             "baresip: %r, linphone: %r" % (shown_b, bob.friend_statuses(JULIET)[n0:]))
        table.row("XMPP %s%s" % (label, " + status" if note else ""),
                  "%s (NOTIFY %s%s)" % (shown_b, got["baresip"].get("basic"),
                                        ", note" if got["baresip"].get("notes") else ", no note"),
                  "%s (NOTIFY %s%s)" % (shown_l, got["linphone"].get("basic"),
                                        ", note" if got["linphone"].get("notes") else ", no note"),
                  "juliet sends %s" % ("unavailable + %r" % note if not avail else inner))

    await unavailable_keeps_status_text(t, s, alice, table, wait_watcher_notify, watcher_notifies)

    # -- SIP -> XMPP -------------------------------------------------------
    carol_ua = await st.SipUA(t).start()
    carol_ua.peer = s.kam.addr
    tr = await cl.digest_request(carol_ua, "PUBLISH", "sip:" + CAROL, "carol", s.sip_passwords["carol"],
                                 from_uri="sip:" + CAROL,
                                 headers=[("Event", "presence"), ("Expires", "120")],
                                 body=st.pidf_doc("sip:" + CAROL, "open", "at the front desk", tuple_id="c1"),
                                 content_type=cl.PIDF_CT)
    carol_etag = tr.final.get("sip-etag") if tr.final else None
    t.ok(tr.code == 200 and carol_etag, "carol (scripted, digest) PUBLISHes open to Kamailio -> 200", repr(tr))

    j0, w0 = juliet.mark(), s.wire.mark()
    for who in (ALICE, BOB, CAROL):
        juliet.send_raw('<presence xmlns="jabber:client" to="%s" type="subscribe"/>' % who)
    got = await st.wait_until(lambda: {bare(x.frm) for x in juliet.since(
        j0, kind="presence", pred=lambda x: x.type == "subscribed")} >= {ALICE, BOB, CAROL}, 8)
    to_stoxd = s.wire.since(w0, lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam
                            and (st.parse_sip_uri(m.ruri) or {}).get("port") == s.stoxd_port)
    t.ok(got and {st.name_addr_uri(m.get("from") or "") for m in to_stoxd} >= {"sip:" + ALICE, "sip:" + BOB},
         "juliet subscribes to %s, %s and %s -> stoxd SUBSCRIBEs through Kamailio, Kamailio's NOTIFYs come "
         "back, juliet gets subscribed from each" % (ALICE, BOB, CAROL),
         "juliet got: %r\n%s" % (juliet.since(j0, kind=None), cl.summaries(to_stoxd)))
    bob_av = await juliet.expect(lambda x: bare(x.frm) == BOB and x.type is None, kind="presence",
                                 start=j0, timeout=5)
    t.ok(bob_av is not None, "linphone published open at start -> juliet sees bob available",
         "juliet got: %r" % juliet.since(j0, kind="presence"))
    # baresip PUBLISHes at start before anyone chose a state (basic
    # 'unknown'): what juliet makes of it, once its NOTIFY came
    a_first_notify = await s.wire.wait(lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam
                                       and (st.parse_sip_uri(m.ruri) or {}).get("port") == s.stoxd_port
                                       and st.name_addr_uri(m.get("from") or "") == "sip:" + ALICE,
                                       timeout=3, start=w0)
    await st.wait_until(lambda: False, 0.5)
    alice_first = [x for x in juliet.since(j0, kind="presence") if bare(x.frm) == ALICE and x.type != "subscribed"]
    pubs = s.wire.since(0, lambda m: m.method == "PUBLISH" and cl.top_via_port(m) == alice.sip_port
                        and cl.pidf_of(m) is not None)
    table.row("SIP initial state (baresip before any command)",
              "PUBLISHes basic %s at start; Kamailio NOTIFYs stoxd %r"
              % ("/".join(sorted({b for m in pubs for b in cl.pidf_of(m)["basic"]})),
                 (cl.pidf_of(a_first_notify) or {}).get("basic")), "-",
              "juliet gets: %s" % (", ".join(x.type or "available" for x in alice_first) or "nothing"))

    # baresip offline / online / offline
    cells_b = []
    for cmd, basic, want in (("/presence_offline", "closed", "unavailable"), ("/presence_online", "open", None),
                             ("/presence_offline", "closed", "unavailable")):
        j1, w1 = juliet.mark(), s.wire.mark()
        await alice.cmd(cmd)
        pub = await s.wire.wait(lambda m: m.method == "PUBLISH" and (cl.pidf_of(m) or {}).get("basic") == [basic],
                                timeout=5, start=w1)
        n = await s.wire.wait(lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam
                              and (st.parse_sip_uri(m.ruri) or {}).get("port") == s.stoxd_port
                              and st.name_addr_uri(m.get("from") or "") == "sip:" + ALICE
                              and (cl.pidf_of(m) or {}).get("basic") == [basic], timeout=5, start=w1)
        x = await juliet.expect(lambda x: bare(x.frm) == ALICE and x.type == want, kind="presence",
                                start=j1, timeout=5)
        t.ok(pub is not None and n is not None and x is not None,
             "baresip %s -> PUBLISH %s, Kamailio's NOTIFY %s to stoxd, juliet gets %s from %s"
             % (cmd, basic, basic, want or "available", ALICE),
             "%s\n%s\njuliet got: %r" % (cl.summary(pub), cl.summary(n), juliet.since(j1, kind="presence")))
        cells_b.append((cmd, x))
    table.row("SIP online (baresip /presence_online; linphone at start)", "PUBLISH open",
              "PUBLISH open (publish=1)",
              "alice: %s; bob: %s" % ("available" if cells_b[1][1] is not None else "nothing",
                                      "available" if bob_av is not None else "nothing"))

    # carol: away and dnd with status text
    for label, activity, show, note in (("away", "away", "away", "gone for coffee"),
                                        ("dnd", "busy", "dnd", "on a call")):
        j1, w1 = juliet.mark(), s.wire.mark()
        tr = await cl.digest_request(carol_ua, "PUBLISH", "sip:" + CAROL, "carol", s.sip_passwords["carol"],
                                     from_uri="sip:" + CAROL,
                                     headers=[("Event", "presence"), ("Expires", "120"),
                                              ("SIP-If-Match", carol_etag or "x")],
                                     body=st.pidf_doc("sip:" + CAROL, "open", note, tuple_id="c1",
                                                      activity=activity),
                                     content_type=cl.PIDF_CT)
        if tr.final is not None and tr.final.get("sip-etag"):
            carol_etag = tr.final.get("sip-etag")
        x = await juliet.expect(lambda x: bare(x.frm) == CAROL and x.type is None
                                and x.child_text("show") == show, kind="presence", start=j1, timeout=5)
        t.ok(tr.code == 200 and x is not None and x.child_text("status") == note,
             "carol PUBLISHes open + rpid:%s + note %r -> juliet sees <show>%s</show><status>%s</status>"
             % (activity, note, show, note), "%r\njuliet got: %r" % (tr, juliet.since(j1, kind="presence")))
        table.row("SIP %s + status" % label, "cannot publish it (presence_online/offline only, no note)",
                  "cannot publish it (no presence command in linphonec)",
                  "from scripted carol: %s" % (("<show>%s</show><status>%s</status>"
                                               % (x.child_text("show"), x.child_text("status"))) if x else "nothing"))

    table.row("SIP offline", "PUBLISH closed (/presence_offline)", "see below (quit)",
              "alice: %s" % ("unavailable" if cells_b[2][1] is not None else "nothing"))

    # linphone quits: it unpublishes
    j1 = juliet.mark()
    clean = await bob.stop()
    x = await juliet.expect(lambda x: bare(x.frm) == BOB and x.type == "unavailable", kind="presence",
                            start=j1, timeout=6)
    t.ok(clean and x is not None, "linphone quits (PUBLISH Expires: 0) -> juliet gets unavailable from %s" % BOB,
         "clean %r; juliet got: %r" % (clean, juliet.since(j1, kind="presence")))
    table.row("SIP offline (linphone quits)", "-", "PUBLISH Expires: 0, unREGISTER",
              "bob: %s" % ("unavailable" if x is not None else "nothing"))

    bad = await s.stop()
    t.ok(not bad, "clients, stoxd and Kamailio stop cleanly", repr(bad))
    table.print()
    t.diag("total %.1fs" % s.elapsed())


async def approval_gives_one_notify(t, s, w0, clients, watcher_notifies):
    """After the XMPP user approves, the watcher's first active NOTIFY
    already carries the presence the probe brought (no closed one before
    it, so the client does not flicker Offline -> Online), and no NOTIFY
    repeats the previous one.  (On this branch's base: two identical
    NOTIFYs, the first closed.)"""
    for name, client in clients.items():
        ns = [m for m in watcher_notifies(client.sip_port, w0) if st.substate(m)[0] == "active"]
        infos = [cl.pidf_of(m) or {} for m in ns]
        first = infos[0] if infos else None
        t.ok(first is not None and first.get("basic") == ["open"],
             "approval -> %s's first active NOTIFY is already open (no closed one before the probe's answer)"
             % name, "%r\n%s" % (infos, cl.summaries(ns)))
        bodies = [m.body for m in ns]
        dups = [i for i in range(1, len(bodies)) if bodies[i] == bodies[i - 1]]
        t.ok(ns and not dups, "approval -> no two identical NOTIFYs in a row in %s's dialog" % name,
             "%d NOTIFYs, repeats at %r\n%s" % (len(ns), dups, cl.summaries(ns)))


async def unavailable_keeps_status_text(t, s, alice, table, wait_watcher_notify, watcher_notifies):
    """romeo approves alice while unavailable (the gateway's probe is then
    answered by the bare JID, unavailable), logs in, and logs out with a
    status: the NOTIFY must say closed WITH that note (PIDF <note> <->
    <status>, RFC 8048 Table 1).  (On this branch's base the bare JID's
    old unavailable won the tie-break and the note was lost.)"""
    romeo = await s.xmpp("romeo")
    r0 = romeo.mark()
    sub = await romeo.expect(lambda x: bare(x.frm) == ALICE and x.type == "subscribe", kind="presence",
                             start=0, timeout=8)
    t.ok(sub is not None, "baresip's SUBSCRIBE to romeo reaches romeo as subscribe from %s" % ALICE,
         "romeo got: %r" % romeo.since(0, kind=None))
    romeo.send_raw('<presence xmlns="jabber:client" type="unavailable"/>')
    await st.wait_until(lambda: False, 0.3)
    w0 = s.wire.mark()
    romeo.send_raw('<presence xmlns="jabber:client" to="%s" type="subscribed"/>' % ALICE)
    n = await wait_watcher_notify(alice, lambda i, m: st.substate(m)[0] == "active", w0, target=ROMEO)
    t.ok(n is not None and (cl.pidf_of(n) or {}).get("basic") in (["closed"], None),
         "romeo approves while unavailable -> alice's dialog gets NOTIFY active, closed",
         cl.summaries(watcher_notifies(alice.sip_port, w0, target=ROMEO)))
    w1 = s.wire.mark()
    romeo.send_raw('<presence xmlns="jabber:client"><status>here</status></presence>')
    n = await wait_watcher_notify(alice, lambda i, m: i.get("basic") == ["open"], w1, target=ROMEO)
    t.ok(n is not None and (cl.pidf_of(n) or {}).get("notes") == ["here"],
         "romeo comes online with 'here' -> NOTIFY open, note 'here'",
         cl.summaries(watcher_notifies(alice.sip_port, w1, target=ROMEO)))
    w2 = s.wire.mark()
    romeo.send_raw('<presence xmlns="jabber:client" type="unavailable"><status>Gone home</status></presence>')
    n = await wait_watcher_notify(alice, lambda i, m: i.get("basic") == ["closed"], w2, target=ROMEO)
    info = cl.pidf_of(n) or {}
    t.ok(n is not None and info.get("notes") == ["Gone home"],
         "romeo goes offline with <status>Gone home</status> -> NOTIFY closed WITH note 'Gone home'",
         "%r\n%s" % (info, cl.summaries(watcher_notifies(alice.sip_port, w2, target=ROMEO))))
    shown = await alice.wait_contact_status(ROMEO, "Offline")
    table.row("XMPP offline + status, after a probe answered while offline (romeo)",
              "%s (NOTIFY %s, %s)" % (shown, info.get("basic"), "note %r" % info["notes"] if info.get("notes")
                                      else "no note"), "-", "romeo: unavailable + 'Gone home'")
    await romeo.disconnect()
    return r0


cl.run(main, timeout=170)
