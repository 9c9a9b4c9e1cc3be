#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/mappings.md §1 and §3, XMPP → SIP: bob (slixmpp on a real Prosody) writes
to alice@sip.test; the SipUA, as the gateway's outbound proxy, receives the
SIP MESSAGE (RFC 7572 §4 Table 1) and answers it; SIP errors come back as
<message type="error"> with the RFC 7247 condition."""

import re

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

NS_RECEIPTS = "urn:xmpp:receipts"
ALICE = "alice@" + st.COMPONENT


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"])
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    rules = st.Rules(d.rules)
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody")
    ua.default_code = 200

    async def xsend(to=ALICE, wait=3.0, **kw):
        mk = ua.mark()
        bob.send_message(to, **kw)
        return await ua.wait_request("MESSAGE", timeout=wait, start=mk)

    def uri_ok(uri, user, host):
        u = st.parse_sip_uri(uri)
        return bool(u) and u["scheme"] == "sip" and u["user"] == user and u["host"] == host

    # --- the basic mapping -----------------------------------------------
    body = "Hello Grüße 👋 <&> ]]> \"'"
    req = await xsend(body=body, subject="Betreff ä", lang="de")
    t.ok(req is not None, "bob → alice@sip.test: a MESSAGE reaches the outbound proxy")
    if req is not None:
        t.ok(uri_ok(req.ruri, "alice", st.SIP_DOMAIN), "Request-URI sip:alice@sip.test", req.text())
        t.ok(uri_ok(req.uri_of("to"), "alice", st.SIP_DOMAIN), "To sip:alice@sip.test", req.text())
        frm = st.parse_sip_uri(req.uri_of("from"))
        t.ok(frm and frm["user"] == "bob" and frm["host"] == st.XMPP_DOMAIN and
             frm["params"].get("gr", "e2e") in ("e2e", ""), "From <sip:bob@xmpp.test> (;gr=resource allowed)",
             req.text())
        t.ok(req.tag_of("from") is not None, "From carries a tag", req.text())
        ct, params = req.content_type()
        t.ok(ct == "text/plain" and params.get("charset", "").lower() == "utf-8",
             "Content-Type text/plain;charset=UTF-8", req.get("content-type"))
        t.eq(req.body, body.encode("utf-8"), "body arrives byte-exact (UTF-8, emoji, XML specials)")
        t.eq(req.get("content-length"), str(len(body.encode("utf-8"))), "Content-Length counts the UTF-8 bytes")
        t.eq(req.get("subject"), "Betreff ä", "<subject> → Subject")
        t.eq(req.get("content-language"), "de", "xml:lang → Content-Language")
        t.ok(req.size <= 1300, "MESSAGE within max-message-size (%d bytes)" % req.size)
        t.ok((req.get("max-forwards") or "").isdigit() and req.get("call-id") and req.cseq_method == "MESSAGE",
             "Max-Forwards, Call-ID and CSeq MESSAGE present", req.text())

    req = await xsend(body="threaded", thread="thread-e2e-42")
    t.ok(req is not None and req.get("call-id") == "thread-e2e-42", "<thread> → Call-ID (RFC 7572 Table 1)",
         req.text() if req else "no MESSAGE")

    # 200 from the SIP side: nothing comes back to bob
    m = bob.mark()
    req = await xsend(body="typed as chat", mtype="chat")
    t.ok(req is not None and req.body == b"typed as chat", '<message type="chat"> → MESSAGE too',
         req.text() if req else "no MESSAGE")
    await bob.expect(lambda s: s.type == "error", start=m, timeout=1.0)
    t.ok(not bob.since(m, pred=lambda s: s.type == "error") and d.running,
         "SIP 200 → no error stanza back to bob", repr(bob.since(m)))

    # the SIP answer flows back: 486 → <message type="error">
    cond, cwhere = rules.sip_to_xmpp(486, "recipient-unavailable")
    etype, _ = rules.error_type(cond, "wait")
    ua.default_code = 486
    m = bob.mark()
    mid = bob.send_message(ALICE, body="are you busy?")
    err = await bob.expect(lambda s: s.type == "error", start=m, timeout=5)
    ua.default_code = 200
    got = err.error_condition() if err else (None, None, False)
    t.ok(err is not None and got[0] == cond and err.frm and err.frm.split("/")[0] == ALICE,
         "SIP 486 → <message type=\"error\"> from alice@sip.test with <%s/> (%s)" % (cond, cwhere), repr(err))
    t.ok(err is not None and not got[2] and got[1] == etype and err.attr("id") == mid,
         "… error type=\"%s\" and the original id" % etype, repr(err))

    # more rows of RFC 7247 Table 3, read from the shipped rules
    for code in (404, 480, 488, 499, 503, 603):
        cond, cwhere = rules.sip_to_xmpp(code, None)
        ua.default_code = code
        m = bob.mark()
        bob.send_message(ALICE, body="code %d?" % code)
        err = await bob.expect(lambda s: s.type == "error", start=m, timeout=5)
        got = err.error_condition() if err else (None, None, False)
        t.ok(err is not None and got[0] == cond and not got[2],
             "SIP %d → <%s/> (%s)" % (code, cond, cwhere), repr(err))
    ua.default_code = 200

    # --- nothing to send: no empty MESSAGE --------------------------------
    req = await xsend(extra='<received xmlns="%s" id="abc"/>' % NS_RECEIPTS, wait=1.0)
    t.ok(req is None and d.running, "<message> with only a receipt → no MESSAGE (waited 1 s)", req.text() if req else "")
    req = await xsend(extra='<markable xmlns="urn:xmpp:chat-markers:0"/>', wait=1.0)
    t.ok(req is None and d.running, "<message> with no body and no chat state → no MESSAGE", req.text() if req else "")

    # --- chat states → isComposing (RFC 3994) ----------------------------
    def state_of(r):
        m = re.search(rb"<(?:\w+:)?state>\s*(\w+)\s*</(?:\w+:)?state>", r.body or b"")
        return m.group(1).decode() if m else None
    req = await xsend(extra='<composing xmlns="%s"/>' % st.NS_CHATSTATES)
    ok = req is not None and req.content_type()[0] == "application/im-iscomposing+xml" and state_of(req) == "active"
    t.ok(ok, "<composing/> alone → MESSAGE application/im-iscomposing+xml, state active",
         req.text() if req else "no MESSAGE")
    req = await xsend(extra='<composing xmlns="%s"/>' % st.NS_CHATSTATES, wait=1.0)
    t.ok(req is None and d.running, "<composing/> again at once → nothing (same state not resent within 60 s, "
         "RFC 3994 refresh)", req.text() if req else "")
    req = await xsend(extra='<active xmlns="%s"/>' % st.NS_CHATSTATES)
    ok = req is not None and req.content_type()[0] == "application/im-iscomposing+xml" and state_of(req) == "idle"
    t.ok(ok, "then <active/> → isComposing state idle", req.text() if req else "no MESSAGE")
    req = await xsend(extra='<paused xmlns="%s"/>' % st.NS_CHATSTATES, wait=1.0)
    t.ok(req is None and d.running, "<paused/> after idle was sent → nothing (idle only after active)",
         req.text() if req else "")

    # --- size limit (RFC 7572 §6) ----------------------------------------
    mk = ua.mark()
    m = bob.mark()
    mid = bob.send_message(ALICE, body="x" * 1300)
    err = await bob.expect(lambda s: s.type == "error", start=m, timeout=3)
    got = err.error_condition() if err else (None, None, False)
    t.ok(err is not None and got[0] == "policy-violation" and not got[2] and err.attr("id") == mid,
         "a body making the MESSAGE exceed 1300 bytes → <policy-violation/>", repr(err))
    etype, _ = rules.error_type("policy-violation", "modify")
    etext = err.xml.findtext("{%s}error/{%s}text" % (st.NS_CLIENT, st.NS_STANZAS)) if err is not None else None
    t.ok(err is not None and got[1] == etype and err.frm and err.frm.split("/")[0] == ALICE and
         etext is not None and
         re.fullmatch(r"the message would be \d+ bytes as SIP; the limit is 1300 \(RFC 3428 §8\)", etext),
         "… type=\"%s\" from alice@sip.test, its text giving the size and the limit" % etype, repr(err))
    t.ok(not ua.requests_since(mk, "MESSAGE") and d.running, "… and no MESSAGE is sent", repr(ua.requests_since(mk)))
    req = await xsend(body="y" * 700)
    t.ok(req is not None and req.size <= 1300 and req.body == b"y" * 700,
         "a 700-byte body still goes out within the limit", req.text(300) if req else "no MESSAGE")

    # --- addresses -------------------------------------------------------
    m = bob.mark()
    bob.send_message(st.COMPONENT, body="to the gateway itself")
    err = await bob.expect(lambda s: s.type == "error", start=m, timeout=3)
    got = err.error_condition() if err else (None, None, False)
    t.ok(err is not None and got[0] == "jid-malformed" and not got[2],
         "<message> to the bare component JID → <jid-malformed/>", repr(err))

    req = await xsend(to="o\\27malley@" + st.COMPONENT, body="hi Sean")
    t.ok(req is not None and uri_ok(req.ruri, "o'malley", st.SIP_DOMAIN),
         "o\\27malley@sip.test → Request-URI sip:o'malley@sip.test", req.text() if req else "no MESSAGE")
    req = await xsend(to="john\\20doe@" + st.COMPONENT, body="hi John")
    t.ok(req is not None and uri_ok(req.ruri, "john doe", st.SIP_DOMAIN) and " " not in req.ruri,
         "john\\20doe@sip.test → Request-URI sip:john%20doe@sip.test", req.text() if req else "no MESSAGE")

    special = "ünïcödé ✓ 🎉 & < > \" ' \\ ]]> \t tab"
    req = await xsend(body=special)
    t.ok(req is not None and req.body == special.encode("utf-8"), "special characters and emoji byte-exact",
         req.text() if req else "no MESSAGE")


st.run(main)
