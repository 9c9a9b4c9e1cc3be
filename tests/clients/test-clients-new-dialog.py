#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A new SUBSCRIBE for an already approved pair, after a restart, through
Kamailio (docs/examples/kamailio-stox.cfg) and stoxd:

  juliet is online on her laptop and approved alice (baresip); alice's
  baresip quits; stoxd restarts (SIGTERM: no watcher left to keep);
  juliet's phone comes online and goes offline again, so all stoxd has
  heard of juliet since its start is "phone: unavailable"; then alice's
  second device (a new baresip, a new dialog) subscribes.  It must see
  juliet online (the laptop): what the gateway heard since the start is
  not the whole picture, so it asks (a probe) before it answers.
"""

import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clients as cl  # noqa: E402
from clients import st  # noqa: E402

JULIET = "juliet@" + cl.XMPP_DOMAIN
ALICE = "alice@" + cl.SIP_DOMAIN


def bare(jid):
    return (jid or "").split("/")[0]


async def main(t):
    s = await cl.Stack.start(t)
    table = cl.Table(t, "new dialog after a restart")
    kam = s.kam.port
    laptop = await s.xmpp("juliet", resource="laptop")
    t.ok(await s.wait_component(laptop), "stoxd's component is connected (stack up in %.1fs)" % s.elapsed())
    laptop.send_raw('<presence xmlns="jabber:client"><status>on my laptop 💻</status></presence>')

    j0 = laptop.mark()
    first = await s.baresip("alice", contacts=["juliet"])
    sub = await laptop.expect(lambda x: bare(x.frm) == ALICE and x.type == "subscribe", kind="presence",
                              start=j0, timeout=8)
    laptop.send_raw('<presence xmlns="jabber:client" to="%s" type="subscribed"/>' % ALICE)
    shown = await first.wait_contact_status(JULIET, "Online")
    t.ok(sub is not None and shown == "Online",
         "set-up: alice's first baresip subscribes, juliet (laptop) approves, baresip shows her Online",
         "subscribe %r, baresip shows %r" % (sub, shown))
    t.ok(await first.stop(), "set-up: that baresip quits (unSUBSCRIBE, unREGISTER)")

    code, _ = await s.stop_stoxd(signal.SIGTERM)
    await s.start_stoxd()
    t.ok(code == 0 and await s.wait_component(laptop), "set-up: stoxd restarted (SIGTERM, new start)",
         "exit %r" % code)

    phone = await s.xmpp("juliet", resource="phone")
    phone.send_raw('<presence xmlns="jabber:client"><status>on the phone</status></presence>')
    await st.wait_until(lambda: False, 0.5)
    phone.send_raw('<presence xmlns="jabber:client" type="unavailable"><status>phone off</status></presence>')
    await st.wait_until(lambda: False, 0.5)
    await phone.disconnect()

    await new_dialog_probes_after_restart(t, s, kam, table)

    bad = await s.stop()
    t.ok(not bad, "clients, stoxd and Kamailio stop cleanly", repr(bad))
    table.print()
    t.diag("total %.1fs" % s.elapsed())


async def new_dialog_probes_after_restart(t, s, kam, table):
    """A new dialog for an approved pair is not answered from a cache the
    link-up did not refresh: the gateway probes, and the watcher sees the
    XMPP user's real presence.  (On this branch's base: NOTIFY closed from
    the phone's unavailable, no probe, while the laptop was online.)"""
    plog = s.prosody.log_mark()
    w0 = s.wire.mark()
    second = await s.baresip("alice", contacts=["juliet"], name="baresip-alice-2")

    def to_second(m):
        return (m.method == "NOTIFY" and cl.top_via_port(m) == kam
                and (st.parse_sip_uri(m.ruri) or {}).get("port") == second.sip_port
                and st.name_addr_uri(m.get("from") or "") == "sip:" + JULIET)

    n = await s.wire.wait(lambda m: to_second(m) and (cl.pidf_of(m) or {}).get("basic") == ["open"],
                          timeout=6, start=w0)
    ns = s.wire.since(w0, to_second)
    info = cl.pidf_of(n) or {}
    t.ok(n is not None and st.substate(n)[0] == "active" and info.get("notes") == ["on my laptop 💻"],
         "new dialog (alice's second baresip) -> NOTIFY active, open, note 'on my laptop 💻'",
         cl.summaries(ns))
    probes = [a for name, a in s.prosody.component_stanzas(plog, "presence")
              if a.get("type") == "probe" and bare(a.get("from")) == ALICE and bare(a.get("to")) == JULIET]
    t.ok(probes, "new dialog -> stoxd probes juliet (what it heard since its start is not the whole picture)",
         "presence stanzas stoxd sent: %r" % s.prosody.component_stanzas(plog, "presence"))
    shown = await second.wait_contact_status(JULIET, "Online")
    t.ok(shown == "Online", "new dialog -> the second baresip shows juliet Online", "shows %r" % shown)
    table.row("new device subscribes after a restart (juliet on laptop; phone went offline)",
              "shows juliet %s; NOTIFYs: %s; probe %s" % (
                  shown, ", ".join("%s/%s" % (st.substate(m)[0], "/".join((cl.pidf_of(m) or {}).get("basic", ["-"])))
                                   for m in ns) or "none", "sent" if probes else "not sent"),
              "-", "juliet/laptop online, approved before the restart")


cl.run(main, timeout=120)
