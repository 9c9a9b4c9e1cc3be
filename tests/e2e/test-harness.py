#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The harness proves itself without stoxd: Prosody starts, takes accounts,
bounces to offline users, answers for a missing component with
<not-connected/>, restarts on the same ports; two SipUAs talk over UDP and
TCP, retransmit over UDP and parse compact headers.  A failure here means
the test environment is broken, not the gateway."""

import time

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402


async def main(t):
    pros = st.Prosody(t)
    t0 = time.monotonic()
    await pros.start()
    t.ok(pros.running, "prosody starts and opens c2s + component ports (%.1fs)" % (time.monotonic() - t0))
    await pros.register_async("bob", "pw")
    await pros.register_async("carol", "pw")
    bob = await st.XmppClient(t, pros, "bob", "pw").connect()
    echo = await bob.expect(lambda s: (s.frm or "").split("/")[0] == "bob@xmpp.test", kind="presence",
                            remove=False)
    t.ok(echo is not None, "bob logs in (PLAIN, no TLS) and sees his presence echoed",
         "bob got: %r" % bob.since(0, kind=None))
    carol = await st.XmppClient(t, pros, "carol", "pw").connect()

    m = bob.mark()
    carol.send_message("bob@xmpp.test", body="Grüße 👋 <&>]]>")
    r = await bob.expect(lambda s: s.body is not None, start=m)
    t.ok(r is not None and r.body == "Grüße 👋 <&>]]>", "client to client message arrives exact", repr(r))

    m = bob.mark()
    bob.send_message("nobody@xmpp.test", body="x")
    r = await bob.expect(lambda s: s.type == "error", start=m)
    cond = r.error_condition() if r else None
    t.ok(cond and cond[0] == "service-unavailable", "message to an unknown user bounces service-unavailable "
         "(mod_offline off)", repr(r))

    r = await bob.iq(st.COMPONENT, '<query xmlns="%s"/>' % st.NS_DISCO_INFO)
    cond = r.error_condition() if r else None
    t.ok(r is not None and r.type == "error" and cond[2],
         "with no component connected Prosody answers with <not-connected/>", repr(r))

    # SIP peer against itself
    a = await st.SipUA(t).start()
    b = await st.SipUA(t).start()
    a.peer = (st.LOOPBACK, b.port)
    b.default_code = 202
    tr = await a.message("bob@xmpp.test", "hällo")
    req = b.requests[-1] if b.requests else None
    t.ok(tr.code == 202 and req is not None and req.body == "hällo".encode() and
         req.get("l") == str(len("hällo".encode())) and req.get("i") == req.get("Call-ID"),
         "SipUA UDP MESSAGE → SipUA 202, body and compact header lookup", repr(tr))
    tr = await a.message("bob@xmpp.test", "over tcp", transport="tcp")
    t.ok(tr.code == 202 and b.requests[-1].transport == "tcp", "SipUA TCP MESSAGE → 202", repr(tr))

    # retransmission: B stays silent for the first two copies
    seen = []

    def slow(req):
        seen.append(time.monotonic())
        return None if len(seen) < 3 else (486, None, [])
    b.responder = slow
    b._answered.clear()
    orig = b._on_data

    def drop_dups(data, transport, addr, writer):
        # let retransmissions through to the responder while it stays silent
        b._answered.clear()
        orig(data, transport, addr, writer)
    b._on_data = drop_dups
    tr = await a.message("bob@xmpp.test", "retrans")
    gaps = [round(seen[i + 1] - seen[i], 2) for i in range(len(seen) - 1)]
    t.ok(tr.code == 486 and tr.sent == 3 and all(0.4 < g < 1.3 for g in gaps),
         "UDP retransmits at 500 ms, 1 s (timer E)", "sent %d, gaps %r, %r" % (tr.sent, gaps, tr))

    # Prosody restart on the same ports
    await pros.stop()
    t.ok(not pros.running and not await st.port_accepts(pros.c2s_port), "prosody stops by PID")
    await pros.start()
    bob2 = await st.XmppClient(t, pros, "bob", "pw", resource="again").connect()
    m = bob2.mark()
    bob2.send_message("bob@xmpp.test/again", body="after the restart")
    r = await bob2.expect(lambda s: s.body == "after the restart", start=m)
    t.ok(r is not None, "prosody restarts on the same ports, accounts kept: bob logs in and gets "
         "a message", "bob2 got: %r" % bob2.since(m, kind=None))
    rc = await pros.stop()
    t.ok(rc == 0, "prosody exits 0 on SIGTERM", "rc=%r" % rc)

st.run(main)
