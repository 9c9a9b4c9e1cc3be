#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/mappings.md §1 and §3, SIP → XMPP: a SIP MESSAGE from sip:alice@sip.test
to sip:bob@xmpp.test reaches bob (a real slixmpp client on a real Prosody)
as RFC 7572 says; refusals get the contract's SIP codes; bounces within the
window become the mapped SIP error; with the component down SIP gets 503 +
Retry-After, and delivery resumes once Prosody is back."""

import asyncio
import time

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

ALICE = "sip:alice@" + st.SIP_DOMAIN
BOB = "sip:bob@" + st.XMPP_DOMAIN
TEXT = "text/plain;charset=UTF-8"


async def main(t):
    env = await st.Env.start(t, users=["bob", "carol"], online=["bob"])
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    rules = st.Rules(d.rules)
    mtype, mtype_where = rules.message_type()

    async def send(body, ct=TEXT, headers=(), from_uri=ALICE, ruri=BOB, transport="udp", expect_from=None,
                   wait=3.0, **kw):
        """MESSAGE, then the first <message> bob gets from the SIP side."""
        m = bob.mark()
        tr = await ua.request("MESSAGE", ruri, body=body, content_type=ct, headers=list(headers),
                              from_uri=from_uri, transport=transport, **kw)
        want_from = expect_from or st.COMPONENT
        msg = await bob.expect(lambda s: (s.frm or "").split("/")[0].endswith(want_from), start=m, timeout=wait)
        return tr, msg

    def show(tr, msg=None):
        return "SIP: %s\nXMPP: %s" % (tr.final.text(600) if tr.final else repr(tr), msg)

    # --- refusals first (§3, §5): nothing may reach bob ------------------
    tr, msg = await send(b"bad \xff\xfe utf-8 \xc3", wait=1.0)
    t.ok(tr.code == 400 and msg is None, "invalid UTF-8 body → 400 and nothing delivered", show(tr, msg))
    tr, msg = await send("from elsewhere", from_uri="sip:mallory@evil.test", wait=1.0)
    t.ok(tr.code == 403 and msg is None, "From domain not sip.test → 403, nothing delivered", show(tr, msg))
    m = bob.mark()
    tr = await ua.message("bob@other.test", "elsewhere")
    t.eq(tr.code, 404, "Request-URI domain not in xmpp-domains → 404", show(tr))
    tr = await ua.message("sips:bob@xmpp.test", "secure please")
    t.eq(tr.code, 416, "sips: Request-URI → 416 (RFC 7247 §8)", show(tr))
    tr = await ua.message("sip:@xmpp.test", "empty user")
    t.ok(tr.code == 400, "empty Request-URI user part → 400", show(tr))
    tr = await ua.message("sip:%s@xmpp.test" % ("b" * 1100), "over-long user")
    t.eq(tr.code, 400, "Request-URI user part over 1023 bytes → 400", show(tr))
    tr = await ua.message("sip:bob%00x@xmpp.test", "NUL in the user")
    t.eq(tr.code, 400, "Request-URI user with %00 (no escaping can carry it) → 400", show(tr))
    tr = await ua.request("MESSAGE", BOB, body="from NUL", content_type=TEXT, from_uri="sip:al%00ice@sip.test")
    t.eq(tr.code, 400, "From user with %00 → 400", show(tr))
    await asyncio.sleep(0.5)
    t.ok(not bob.since(m) and d.running, "none of the refused requests reached bob", repr(bob.since(m)))

    # XML in SIP bodies: no DTD, no external entity, no entity expansion (§7)
    m = bob.mark()
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE isComposing [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>\n'
           '<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>&xxe;</state></isComposing>')
    tr = await ua.message("bob@xmpp.test", xxe, content_type="application/im-iscomposing+xml")
    t.ok(tr.code is not None and 400 <= tr.code < 500, "isComposing with a DTD and an external entity → 4xx",
         show(tr))
    lol = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
                     for i in range(1, 10))
           + ']>\n<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>&lol9;</state></isComposing>')
    tr = await ua.message("bob@xmpp.test", lol, content_type="application/im-iscomposing+xml", timeout=3)
    t.ok(tr.code is not None and 400 <= tr.code < 500 and tr.elapsed < 2.0,
         "isComposing with nested entities (billion laughs) → 4xx, quickly", show(tr))
    await asyncio.sleep(0.3)
    t.ok(not bob.since(m) and d.running, "… nothing reaches bob and stoxd keeps running", repr(bob.since(m)))

    tr, msg = await send(b"\x00\x01\x02binary", ct="application/octet-stream", wait=1.0)
    accept = tr.final.get("accept") if tr.final else None
    t.ok(tr.code == 415 and accept is not None and "text/plain" in accept.lower(),
         "application/octet-stream → 415 with Accept listing text/plain", show(tr))
    t.ok(msg is None and tr.final is not None, "… and nothing is delivered", repr(msg))

    t.ok(await st.wait_component(bob, 10), "component connected to Prosody (ping answered by it)")

    # --- the basic mapping (RFC 7572 §5 Table 2) -------------------------
    body = "Grüße 👋"
    tr, msg = await send(body, headers=[("Subject", "Grüße zum Test"), ("Content-Language", "de")])
    t.eq(tr.code, 202, "MESSAGE text/plain → 202 Accepted (RFC 3428 §7)", show(tr))
    t.ok(tr.final is not None and tr.final.reason_ok(), "the 202 has a readable Reason-Phrase (UTF-8 text)",
         repr(tr.final.start_raw if tr.final else None))
    t.ok(msg is not None, "bob receives a <message>", show(tr, msg))
    if msg is not None:
        t.eq(msg.type, mtype, 'MESSAGE → <message type="%s"> (%s)' % (mtype, mtype_where), msg.text)
        t.eq(msg.frm, "alice@" + st.COMPONENT, "from = alice@sip.test", msg.text)
        t.eq(msg.body, body, "UTF-8 body arrives unchanged", msg.text)
        t.eq(msg.child_text("subject"), "Grüße zum Test", "Subject → <subject>", msg.text)
        t.eq(msg.lang, "de", "Content-Language → xml:lang", msg.text)
        t.eq(msg.child_text("thread"), tr.request.get("call-id"), "Call-ID → <thread>", msg.text)
        t.eq(msg.attr("to").split("/")[0] if msg.attr("to") else None, "bob@" + st.XMPP_DOMAIN,
             "to = bob@xmpp.test", msg.text)
    else:
        for name in ("type", "from", "body", "subject", "xml:lang", "thread", "to"):
            t.ok(False, "message %s (no message arrived)" % name)

    specials = "<b>&amp;</b>]]> 'q' \"dq\""
    tr, msg = await send(specials)
    t.ok(tr.code == 202 and msg is not None and msg.body == specials,
         "XML specials arrive as literal text", show(tr, msg))
    inj = "</body><body>x</body><subject>evil</subject><body>"
    tr, msg = await send(inj)
    t.ok(tr.code == 202 and msg is not None and msg.body == inj and len(msg.children("body")) == 1
         and msg.child_text("subject") is None, "markup injection attempt stays one literal <body>",
         show(tr, msg))

    tr, msg = await send("ohne charset: Grüße", ct="text/plain")
    t.ok(tr.code == 202 and msg is not None and msg.body == "ohne charset: Grüße",
         "text/plain without charset (as Kamailio sends it), UTF-8 body → delivered unchanged", show(tr, msg))

    tr, msg = await send("over TCP", transport="tcp")
    t.ok(tr.code == 202 and msg is not None and msg.body == "over TCP", "MESSAGE over TCP → 202 and delivered",
         show(tr, msg))

    big = ("0123456789abcdefghijklmnopqrstuvwxyzÄÖÜ\n" * 100)[:4000]
    tr, msg = await send(big, transport="tcp")
    t.ok(tr.code == 202 and msg is not None and msg.body == big,
         "a %d-byte body over TCP arrives exact" % len(big.encode()), show(tr, msg))

    # compact header forms (RFC 3261 §7.3.3), written by hand
    cid = st.rand_token(12) + "@127.0.0.1"
    payload = "compact forms".encode()
    raw = ("MESSAGE %s SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\nmax-forwards: 70\r\n"
           "f: <%s>;tag=%s\r\nt: <%s>\r\ni: %s\r\ncseq: 7 MESSAGE\r\nc: text/plain;charset=UTF-8\r\n"
           "l: %d\r\n\r\n" % (BOB, ua.port, st.rand_token(12), ALICE, st.rand_token(6), BOB, cid,
                              len(payload))).encode() + payload
    m = bob.mark()
    tr = await ua.request("MESSAGE", BOB, raw=raw)
    msg = await bob.expect(lambda s: s.body == "compact forms", start=m, timeout=3)
    t.ok(tr.code == 202 and msg is not None, "compact header forms (v f t i c l) accepted and delivered",
         show(tr, msg))

    # --- other content types (§5) ----------------------------------------
    cpim = ("From: <sip:alice@sip.test>\r\nTo: <sip:bob@xmpp.test>\r\nDateTime: 2026-11-23T10:00:00Z\r\n\r\n"
            "Content-Type: text/plain;charset=UTF-8\r\n\r\ninside CPIM: Grüße")
    tr, msg = await send(cpim, ct="message/cpim")
    t.ok(tr.code == 202 and msg is not None and msg.body == "inside CPIM: Grüße",
         "message/cpim wrapping text/plain → inner body only", show(tr, msg))

    html = "<html><body><p>Hello &amp; <b>w&ouml;rld</b></p></body></html>"
    tr, msg = await send(html, ct="text/html;charset=UTF-8")
    t.ok(tr.code in (200, 202) and msg is not None and msg.body is not None
         and msg.body.strip() == "Hello & wörld", "text/html → <body> with its text (tags removed, entities "
         "decoded)", show(tr, msg))

    iscomp = ('<?xml version="1.0" encoding="UTF-8"?>\n<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">'
              '<state>%s</state><contenttype>text/plain</contenttype><refresh>60</refresh></isComposing>')
    tr, msg = await send(iscomp % "active", ct="application/im-iscomposing+xml")
    ok = msg is not None and msg.xml.find("{%s}composing" % st.NS_CHATSTATES) is not None and msg.body is None
    t.ok(tr.code in (200, 202) and ok, "isComposing active → <composing/> and no <body>", show(tr, msg))
    tr, msg = await send(iscomp % "idle", ct="application/im-iscomposing+xml")
    ok = msg is not None and msg.xml.find("{%s}paused" % st.NS_CHATSTATES) is not None and msg.body is None
    t.ok(tr.code in (200, 202) and ok, "isComposing idle → <paused/> and no <body>", show(tr, msg))

    # --- addresses (XEP-0106) --------------------------------------------
    for uri, want in (("sip:o'malley@sip.test", "o\\27malley@sip.test"),
                      ("sip:o%27malley@sip.test", "o\\27malley@sip.test"),
                      ("sip:john%20doe@sip.test", "john\\20doe@sip.test")):
        tr, msg = await send("from %s" % uri, from_uri=uri)
        t.ok(tr.code == 202 and msg is not None and msg.frm == want, "From %s → from %s" % (uri, want),
             show(tr, msg))

    # --- bounce inside the window (§5) -----------------------------------
    want, where = rules.xmpp_to_sip("service-unavailable", 403)
    window = d.bounce_wait / 1000.0
    tr = await ua.message("carol@xmpp.test", "reason check")
    t.ok(tr.final is not None and tr.final.reason_ok(), "the mapped %s has a readable Reason-Phrase" % want,
         repr(tr.final.start_raw if tr.final else None))
    mk = ua.mark()
    for user in ("carol", "nobody"):
        tr = await ua.message("%s@xmpp.test" % user, "are you there?")
        t.ok(tr.code == want and tr.elapsed is not None and tr.elapsed < window + 0.45,
             "MESSAGE to %s %s@xmpp.test → %s within the bounce window (service-unavailable, %s)"
             % ("offline" if user == "carol" else "unknown", user, want, where),
             "elapsed %s s, window %s s\n%s" % (tr.elapsed, window, show(tr)))
    await asyncio.sleep(0.8)
    back = ua.requests_since(mk, "MESSAGE")
    t.ok(not back and d.running, "a bounce inside the window sends no extra MESSAGE back", repr(back))

    # --- component down: 503 + Retry-After; back again: delivery resumes -
    await env.prosody.stop()
    bob.abort()
    await asyncio.sleep(1.0)
    tr = await ua.message("bob@xmpp.test", "while XMPP is down")
    ra = tr.final.get("retry-after") if tr.final else None
    t.ok(tr.code == 503 and ra is not None and ra.split(";")[0].strip().isdigit(),
         "component down: MESSAGE → 503 with Retry-After", show(tr))
    tr = await ua.request("OPTIONS", d.sip_uri())
    t.eq(tr.code, 200, "component down: OPTIONS still → 200", show(tr))
    t.ok(d.running, "stoxd still running with Prosody down")

    await env.prosody.start()
    t0 = time.monotonic()
    bob = await st.XmppClient(t, env.prosody, "bob", env.password, resource="back").connect()
    delivered, _, codes = await st.wait_delivery(ua, bob, "after restart", 30 - (time.monotonic() - t0))
    t.ok(delivered is not None, "Prosody restarted → a MESSAGE is delivered again within 30 s (%.1f s)"
         % (time.monotonic() - t0), "answers while waiting: %r" % codes)


st.run(main)
