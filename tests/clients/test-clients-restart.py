#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Restarts nobody notices: stoxd stopped with SIGTERM and started again,
then killed with SIGKILL and started again, between real SIP clients and
an XMPP user (stoxd.8, "Signals"; RFC 6665 §4.1.3 on what ends a
subscription).

  alice = baresip 1.0 and bob = linphonec 5.1 watch juliet (approved);
  juliet (slixmpp) follows alice and bob.

  SIGTERM: each watcher's dialog gets a NOTIFY that keeps it active and
  shows juliet closed; stoxd's own subscriptions to alice and bob are
  kept (no Expires: 0); juliet gets unavailable from alice and bob; exit
  0 within 5 s.  After the new start, with no action of anyone: the old
  dialogs carry juliet's presence again (both clients show her online),
  and juliet gets alice's and bob's presence, nothing being sent toward
  XMPP before the component link is up.
  SIGKILL: while stoxd is dead juliet goes away and alice goes offline.
  After the new start, again with no action: both clients see juliet
  away in their old dialogs, and juliet sees alice offline and bob online.
"""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clients as cl  # noqa: E402
from clients import st  # noqa: E402

JULIET = "juliet@" + cl.XMPP_DOMAIN
ALICE = "alice@" + cl.SIP_DOMAIN
BOB = "bob@" + cl.SIP_DOMAIN
AFTER_START_S = 10   # how long "after the next start" may take here


def bare(jid):
    return (jid or "").split("/")[0]


def left(deadline):
    """Seconds to a shared deadline: every wait after a start is bounded
    by the same AFTER_START_S, however many there are."""
    return max(0.2, deadline - time.monotonic())


class Watcher:
    """A client's dialog watching juliet, as Kamailio relays its NOTIFYs."""

    def __init__(self, s, name, client):
        self.s, self.name, self.client = s, name, client
        self.call_id = self.local_tag = self.remote_tag = None

    def notifies(self, start):
        kam = self.s.kam.port
        return self.s.wire.since(start, lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam
                                 and (st.parse_sip_uri(m.ruri) or {}).get("port") == self.client.sip_port
                                 and st.name_addr_uri(m.get("from") or "") == "sip:" + JULIET)

    def remember(self):
        ns = self.notifies(0)
        if ns:
            n = ns[-1]
            self.call_id, self.local_tag, self.remote_tag = n.get("call-id"), n.tag_of("from"), n.tag_of("to")
        return bool(ns)

    def in_dialog(self, m):
        return (m.get("call-id") == self.call_id and m.tag_of("from") == self.local_tag
                and m.tag_of("to") == self.remote_tag)

    async def wait(self, pred, start, timeout):
        kam = self.s.kam.port
        return await self.s.wire.wait(
            lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == kam and self.in_dialog(m)
            and pred(cl.pidf_of(m) or {}, m), timeout=timeout, start=start)

    def new_subscribes(self, start):
        """Initial SUBSCRIBEs (no To tag) the client sent since `start`."""
        return self.s.wire.since(start, lambda m: m.method == "SUBSCRIBE" and not m.tag_of("to")
                                 and cl.top_via_port(m) == self.client.sip_port)


async def main(t):
    s = await cl.Stack.start(t)
    table = cl.Table(t, "restarts")
    juliet = await s.xmpp("juliet")
    t.ok(await s.wait_component(juliet), "stoxd's component is connected (stack up in %.1fs)" % s.elapsed())
    juliet.send_raw('<presence xmlns="jabber:client"><status>at my desk</status></presence>')
    j0 = juliet.mark()
    alice = await s.baresip("alice", contacts=["juliet"])
    bob = await s.linphone("bob", friends=["juliet"])
    w_pub = s.wire.mark()
    await alice.cmd("/presence_online")
    pub = await s.wire.wait(lambda m: m.method == "PUBLISH" and (m.get("proxy-authorization") or "")
                            and cl.top_via_port(m) == alice.sip_port, timeout=5, start=w_pub)
    await s.wire.wait(cl.answers(pub), timeout=5, start=w_pub)
    await st.wait_until(lambda: {bare(x.frm) for x in juliet.since(
        j0, kind="presence", pred=lambda x: x.type == "subscribe")} >= {ALICE, BOB}, 10)
    for who in (ALICE, BOB):
        juliet.send_raw('<presence xmlns="jabber:client" to="%s" type="subscribed"/>' % who)
        juliet.send_raw('<presence xmlns="jabber:client" to="%s" type="subscribe"/>' % who)
    shown_b = await alice.wait_contact_status(JULIET, "Online")
    shown_l = await bob.wait_friend_status(JULIET, "Online")
    seen = await st.wait_until(lambda: {bare(x.frm) for x in juliet.since(
        j0, kind="presence", pred=lambda x: x.type is None)} >= {ALICE, BOB}, 8)
    t.ok(shown_b == "Online" and shown_l == "Online" and seen,
         "set-up: baresip and linphone watch juliet (approved, shown Online); juliet follows alice and bob "
         "(both available)", "baresip %r, linphone %r, juliet got %r\n%s" % (
             shown_b, shown_l, juliet.since(j0, kind="presence"), s.refused_text()))
    watchers = [Watcher(s, "baresip", alice), Watcher(s, "linphone", bob)]
    t.ok(all(w.remember() for w in watchers), "set-up: both watcher dialogs seen on the wire")
    t.ok(await st.wait_watch_stored(s.stoxd.state_dir, 2),
         "set-up: both watcher dialogs are in stox.db before the stop",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(s.stoxd.state_dir),))

    # -- SIGTERM ------------------------------------------------------------
    w0, j1 = s.wire.mark(), juliet.mark()
    code, secs = await s.stop_stoxd(signal.SIGTERM)
    t.ok(code == 0 and secs <= 5.0, "SIGTERM: stoxd exits 0 within 5 s (%.2fs)" % secs, "exit %r" % code)
    await graceful_stop_keeps_watchers(t, s, watchers, w0, juliet, j1)
    b_stop = await alice.contact_status(JULIET)
    l_stop = bob.friend_status(JULIET)
    j_stop = sorted("%s %s" % (bare(x.frm), x.type or "available")
                    for x in juliet.since(j1, kind="presence"))

    w1, j2 = s.wire.mark(), juliet.mark()
    nl = len(bob.friend_statuses(JULIET))
    await s.start_stoxd()
    deadline = time.monotonic() + AFTER_START_S
    got = await restart_notifies_old_dialogs(t, s, watchers, w1, "SIGTERM",
                                             lambda i, m: i.get("basic") == ["open"]
                                             and i.get("notes") == ["at my desk"], deadline)
    x_after = await link_up_brings_followed_presence(t, s, juliet, j2, {ALICE: None, BOB: None}, "SIGTERM",
                                                     deadline)
    b_after = await alice.wait_contact_status(JULIET, "Online", timeout=min(3, left(deadline)))
    l_after = await bob.wait_friend_status(JULIET, "Online", timeout=min(3, left(deadline)), start=nl)
    t.ok(b_after == "Online" and l_after == "Online",
         "SIGTERM, new start: baresip and linphone show juliet Online again",
         "baresip %r, linphone %r" % (b_after, bob.friend_statuses(JULIET)[nl:]))
    for w in watchers:
        again = w.new_subscribes(w0)
        t.ok(not again, "SIGTERM: %s did not have to SUBSCRIBE anew" % w.name, cl.summaries(again))
    table.row("SIGTERM: at the stop", "shows juliet %s; %s" % (b_stop, got["stop"].get("baresip", "")),
              "shows juliet %s; %s" % (l_stop, got["stop"].get("linphone", "")),
              "juliet gets %s" % ("; ".join(j_stop) or "nothing"))
    table.row("SIGTERM: after the new start (no action)", "shows juliet %s; %s" % (b_after, got["baresip"]),
              "shows juliet %s; %s" % (l_after, got["linphone"]), x_after)

    # -- SIGKILL ------------------------------------------------------------
    # Each client must hold a live dialog for this half to say anything
    # about SIGKILL: one the SIGTERM half lost is set up again by a new
    # instance of the client (said in the table).
    redone = []
    for w in watchers:
        live = w.remember() and await w.wait(lambda i, m: st.substate(m)[0] == "active", w1, 0.1)
        if not live:
            redone.append(w.name)
            old = w.client
            await old.stop()
            if w.name == "baresip":
                w.client = alice = await s.baresip("alice", contacts=["juliet"], name="baresip-alice-2")
                await alice.cmd("/presence_online")
            else:
                w.client = bob = await s.linphone("bob", friends=["juliet"], name="linphone-bob-2")
            mark = s.wire.mark()
            ok = await s.wire.wait(lambda m: m.method == "NOTIFY" and cl.top_via_port(m) == s.kam.port
                                   and (st.parse_sip_uri(m.ruri) or {}).get("port") == w.client.sip_port
                                   and (cl.pidf_of(m) or {}).get("basic") == ["open"], timeout=8, start=0)
            t.ok(ok is not None and w.remember(),
                 "SIGKILL set-up: the %s dialog lost at SIGTERM is set up again by a new %s instance"
                 % (w.name, w.name), cl.summaries(w.notifies(mark)))
    t.ok(await st.wait_watch_stored(s.stoxd.state_dir, 2),
         "SIGKILL set-up: both watcher dialogs are in stox.db before the kill",
         "(records, sip_dialogs) = %r" % (st.stored_watch_dialogs(s.stoxd.state_dir),))
    j_set = juliet.mark()
    await st.wait_until(lambda: {bare(x.frm) for x in juliet.since(
        j_set, kind="presence", pred=lambda x: x.type is None)} >= {ALICE}, 3)
    code, _ = await s.stop_stoxd(signal.SIGKILL)
    t.ok(code == -signal.SIGKILL, "SIGKILL: stoxd killed", "exit %r" % code)
    # while it is dead: juliet goes away, alice goes offline
    juliet.send_raw('<presence xmlns="jabber:client"><show>away</show><status>back soon</status></presence>')
    await alice.cmd("/presence_offline")
    await st.wait_until(lambda: False, 1.0)
    w2, j3 = s.wire.mark(), juliet.mark()
    nl = len(bob.friend_statuses(JULIET))
    await s.start_stoxd()
    deadline = time.monotonic() + AFTER_START_S
    got = await restart_notifies_old_dialogs(t, s, watchers, w2, "SIGKILL",
                                             lambda i, m: i.get("basic") == ["open"]
                                             and i.get("shows") == ["away"] and i.get("notes") == ["back soon"],
                                             deadline)
    x_after = await link_up_brings_followed_presence(t, s, juliet, j3, {ALICE: "unavailable", BOB: None},
                                                     "SIGKILL", deadline)
    l_after = await bob.wait_friend_status(JULIET, "Away", timeout=min(3, left(deadline)), start=nl)
    # TRAP (baresip 1.0): away is shown as Offline (checked on the wire above)
    b_after = await alice.contact_status(JULIET)
    t.ok(l_after == "Away", "SIGKILL, new start: linphone shows juliet Away",
         "linphone %r" % bob.friend_statuses(JULIET)[nl:])
    for w in watchers:
        again = w.new_subscribes(w2)
        t.ok(not again, "SIGKILL: %s did not have to SUBSCRIBE anew" % w.name, cl.summaries(again))
    table.row("SIGKILL (juliet away, alice offline meanwhile): after the new start (no action)",
              "%sshows juliet %s; %s" % ("[new instance after SIGTERM] " if "baresip" in redone else "",
                                         b_after, got["baresip"]),
              "%sshows juliet %s; %s" % ("[new instance after SIGTERM] " if "linphone" in redone else "",
                                         l_after, got["linphone"]),
              x_after)

    bad = await s.stop()
    t.ok(not bad, "clients, stoxd and Kamailio stop cleanly", repr(bad))
    table.print()
    t.diag("total %.1fs" % s.elapsed())


async def graceful_stop_keeps_watchers(t, s, watchers, w0, juliet, j0):
    """SIGTERM keeps SIP watchers' dialogs (stoxd.8): each gets a NOTIFY
    that stays active and shows the XMPP user closed, none is terminated;
    stoxd's own subscriptions to SIP users are kept (no Expires: 0); the
    XMPP user gets unavailable from the SIP users it saw online.  (On this
    branch's base: terminated;reason=probation;retry-after=30, which
    linphone never recovers from, and an unSUBSCRIBE per follow.)"""
    # what stoxd sent before it exited may still be crossing Kamailio
    await st.wait_until(lambda: all([m for m in w.notifies(w0) if w.in_dialog(m)] for w in watchers), 3)
    for w in watchers:
        ns = [m for m in w.notifies(w0) if w.in_dialog(m)]
        term = [m for m in ns if st.substate(m)[0] == "terminated"]
        closed = [m for m in ns if st.substate(m)[0] == "active" and (cl.pidf_of(m) or {}).get("basic") == ["closed"]]
        t.ok(closed and not term,
             "SIGTERM: %s's dialog gets a NOTIFY still active showing juliet closed, and is not terminated"
             % w.name, cl.summaries(ns))
        w.stop_cell = "stop NOTIFY: %s" % (", ".join(
            "%s%s" % (m.get("subscription-state"), "/" + "/".join((cl.pidf_of(m) or {}).get("basic", [])))
            for m in ns) or "none")
    unsub = s.wire.since(w0, lambda m: m.method == "SUBSCRIBE" and cl.top_via_port(m) == s.stoxd_port
                         and (m.get("expires") or "").strip() == "0")
    t.ok(not unsub, "SIGTERM: stoxd's subscriptions to alice and bob are kept (no SUBSCRIBE Expires: 0)",
         cl.summaries(unsub))
    got = await st.wait_until(lambda: {bare(x.frm) for x in juliet.since(
        j0, kind="presence", pred=lambda x: x.type == "unavailable")} >= {ALICE, BOB}, 3)
    t.ok(got, "SIGTERM: juliet gets unavailable from alice and bob",
         "juliet got: %r" % juliet.since(j0, kind="presence"))


async def restart_notifies_old_dialogs(t, s, watchers, w0, label, pred, deadline):
    """After the new start, with no action of the watchers, their OLD
    dialogs (same Call-ID and tags) carry the XMPP user's current presence
    within AFTER_START_S.  (On this branch's base, after SIGTERM the
    dialogs were gone; see graceful_stop_keeps_watchers.)"""
    cells = {"stop": {w.name: getattr(w, "stop_cell", "") for w in watchers}}
    for w in watchers:
        n = await w.wait(pred, w0, left(deadline))
        ns = [m for m in w.notifies(w0)]
        t.ok(n is not None, "%s, new start: %s's OLD dialog gets juliet's current presence" % (label, w.name),
             "dialog %s\nNOTIFYs to the client since the start:\n%s" % (w.call_id, cl.summaries(ns)))
        cells[w.name] = ("old dialog: %s" % (", ".join(
            "/".join((cl.pidf_of(m) or {}).get("basic", ["-"]) + (cl.pidf_of(m) or {}).get("shows", []))
            for m in ns if w.in_dialog(m)) or "no NOTIFY"))
    return cells


async def link_up_brings_followed_presence(t, s, juliet, j0, want, label, deadline):
    """After the new start, with no action of anyone, the XMPP user gets
    the current presence of each SIP user it follows (`want`: bare JID ->
    expected type, None = available) within AFTER_START_S, and nothing was
    sent toward XMPP before the component link was up.  (On this branch's
    base the restored SUBSCRIBEs went out first and the NOTIFYs' presence
    was dropped: "XMPP link down or congested".)"""
    ok_all = True
    cells = []
    for jid, typ in want.items():
        x = await juliet.expect(lambda x: bare(x.frm) == jid and x.type == typ and x.type != "subscribed",
                                kind="presence", start=j0, timeout=left(deadline))
        t.ok(x is not None, "%s, new start: juliet gets %s from %s without any action" %
             (label, typ or "available", jid), "juliet got since the start: %r" % juliet.since(j0, kind="presence"))
        ok_all = ok_all and x is not None
    for x in juliet.since(j0, kind="presence"):
        cells.append("%s %s" % (bare(x.frm), x.type or "available"))
    dropped = re.findall(r"^.*not sent: XMPP link down.*$", s.stoxd.log_text(), re.M)
    t.ok(not dropped, "%s, new start: stoxd sent nothing toward XMPP before the link was up" % label,
         "\n".join(dropped[:10]))
    return "juliet gets %s%s" % ("; ".join(cells) or "nothing",
                                 " (stoxd dropped %d stanza(s): link not up)" % len(dropped) if dropped else "")


cl.run(main, timeout=170)
