#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd(8) READINESS: readiness as any peer sees it, sd_notify, SIGTERM."""

import signal

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

REQUIRED_ALLOW = {"MESSAGE", "SUBSCRIBE", "NOTIFY", "OPTIONS"}


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"])
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]

    # --- sd_notify -------------------------------------------------------
    # Env.start() waited for READY=1; what is checked here is that it
    # came once (stoxd(8): after the first connection attempt).
    readies = [n for n in d.notifications if n[1] == "READY=1"]
    t.ok(len(readies) == 1, "READY=1 on NOTIFY_SOCKET, once", repr(d.notifications))
    status = await d.wait_notify("STATUS=", 5)
    t.ok(status and len(status[0][1]) > len("STATUS="), "a non-empty STATUS= line on NOTIFY_SOCKET",
         repr(d.notifications))

    # --- SIP OPTIONS -----------------------------------------------------
    for transport in ("udp", "tcp"):
        tr = await ua.request("OPTIONS", d.sip_uri(), transport=transport, to_uri="sip:" + st.SIP_DOMAIN)
        t.eq(tr.code, 200, "OPTIONS over %s → 200" % transport.upper(), repr(tr.final.text() if tr.final else tr))
        t.ok(tr.final is not None and tr.final.reason_ok(), "OPTIONS over %s: the 200 has a readable "
             "Reason-Phrase (UTF-8 text)" % transport.upper(), repr(tr.final.start_raw if tr.final else None))
        allow = {m.strip().upper() for m in tr.final.get_all("allow")} if tr.final else set()
        t.ok(REQUIRED_ALLOW <= allow, "OPTIONS over %s: Allow lists MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS"
             % transport.upper(), "Allow: %r" % (tr.final.header_lines("allow") if tr.final else None))

    # --- odd SIP input gets a clear answer and harms nothing (§7) ----------
    tr = await ua.request("INVITE", "sip:bob@" + st.XMPP_DOMAIN, content_type="application/sdp",
                          body="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                               "m=audio 9 RTP/AVP 0\r\n")
    t.ok(tr.code is not None and tr.code >= 400, "INVITE (no sessions yet) → a final error response",
         repr(tr))
    tr = await ua.request("FROBNICATE", "sip:bob@" + st.XMPP_DOMAIN)
    t.ok(tr.code in (405, 501), "unknown method → 405 or 501", repr(tr))
    ua.udp.sendto(b"this is not SIP at all\r\n\r\n", (st.LOOPBACK, d.sip_port))
    ua.udp.sendto(b"MESSAGE sip:bob@xmpp.test SIP/2.0\r\nVia: garbage\r\n\r\n", (st.LOOPBACK, d.sip_port))
    big = ("MESSAGE sip:bob@xmpp.test SIP/2.0\r\nX-Filler: " + "a" * 60000 + "\r\n\r\n").encode()
    ua.udp.sendto(big, (st.LOOPBACK, d.sip_port))
    tr = await ua.request("MESSAGE", "sip:bob@" + st.XMPP_DOMAIN, content_type="text/plain",
                          body="short", omit=("Content-Length",),
                          headers=[("Content-Length", "500")])
    t.ok(tr.code is None or tr.code == 400, "UDP MESSAGE with Content-Length beyond the datagram → 400 or "
         "dropped (RFC 3261 §18.3)", repr(tr))
    tr = await ua.request("OPTIONS", d.sip_uri())
    t.ok(tr.code == 200 and d.running, "after garbage datagrams: still running, OPTIONS → 200", repr(tr))

    # --- disco#info to the component ------------------------------------
    r = await bob.iq(st.COMPONENT, '<query xmlns="%s"/>' % st.NS_DISCO_INFO)
    t.ok(r is not None and r.type == "result" and r.frm == st.COMPONENT,
         "disco#info to sip.test → result from sip.test", repr(r))
    q = r.xml.find("{%s}query" % st.NS_DISCO_INFO) if r is not None else None
    idents = [(i.get("category"), i.get("type")) for i in q.findall("{%s}identity" % st.NS_DISCO_INFO)] \
        if q is not None else []
    feats = {f.get("var") for f in q.findall("{%s}feature" % st.NS_DISCO_INFO)} if q is not None else set()
    t.ok(("gateway", "simple") in idents, 'disco#info: identity category="gateway" type="simple"', repr(idents))
    for feat in (st.NS_DISCO_INFO, st.NS_PING, "jid\\20escaping"):
        t.ok(feat in feats, "disco#info: feature %s" % feat, repr(sorted(feats)))

    # --- disco#info to a SIP user behind the gateway ----------------------
    r = await bob.iq("alice@" + st.COMPONENT, '<query xmlns="%s"/>' % st.NS_DISCO_INFO)
    t.ok(r is not None and r.type == "result", "disco#info to alice@sip.test → result", repr(r))

    # --- XEP-0199 ping ---------------------------------------------------
    r = await bob.iq(st.COMPONENT, '<ping xmlns="%s"/>' % st.NS_PING)
    t.ok(r is not None and r.type == "result" and r.frm == st.COMPONENT, "XEP-0199 ping to sip.test → result",
         repr(r))

    # --- unknown IQs get an error from the component itself -------------
    for itype, payload, what in (("get", '<time xmlns="urn:xmpp:time"/>', "get urn:xmpp:time"),
                                 ("set", '<query xmlns="urn:example:stox-e2e:unknown"/>', "set unknown namespace"),
                                 ("get", '<query xmlns="jabber:iq:private"/>', "get jabber:iq:private to a user")):
        to = "alice@" + st.COMPONENT if "user" in what else st.COMPONENT
        r = await bob.iq(to, payload, itype=itype)
        cond, etype, not_connected = r.error_condition() if r is not None else (None, None, False)
        t.ok(r is not None and r.type == "error" and not not_connected and
             cond in ("service-unavailable", "feature-not-implemented"),
             "iq %s → error service-unavailable/feature-not-implemented from the component" % what,
             repr(r))

    # --- SIGTERM ---------------------------------------------------------
    rc, elapsed = await d.stop(signal.SIGTERM)
    t.ok(rc == 0 and elapsed <= 5.0, "SIGTERM → exit 0 within 5 s", "exit %r after %.2f s" % (rc, elapsed))


st.run(main)
