#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What docs/examples/kamailio-stox.cfg promises about identities, with
authentication on (its default) and scripted SIP peers: alice (a user of
sip.test with a password), a stand-in for stoxd at the gateway address,
and an outsider.

  - a local user's request is challenged (407) and reaches the gateway
    only once authenticated, with a P-Asserted-Identity naming her and no
    other (one she sent herself is removed, RFC 3325 §5);
  - credentials of one user do not carry another user's From;
  - a request from another domain does not reach the gateway (403);
  - the gateway's own requests for local users are not challenged, and
    it cannot route into the XMPP domains through the proxy (482).
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clients as cl  # noqa: E402
from clients import st  # noqa: E402

ALICE = "sip:alice@" + cl.SIP_DOMAIN
JULIET = "sip:juliet@" + cl.XMPP_DOMAIN


async def main(t):
    missing = cl.missing_peers()
    if missing:
        raise st.BailOut("missing peers: " + "; ".join(missing))
    wire = await cl.Wire(t).start()
    gw = await st.SipUA(t).start()
    ua = await st.SipUA(t).start()
    pw = {"alice": "pw-" + st.rand_token(6), "carol": "pw-" + st.rand_token(6)}
    kam = cl.kam_mod.Kamailio(t, gateway_port=gw.port, users=pw, trace_port=wire.port)
    rc, out = kam.check_config()
    t.eq(rc, 0, "kamailio -c accepts the example with the tests' defines (authentication on)", out[-1500:])
    await kam.start()
    ua.peer = gw.peer = kam.addr
    ua_contact = "<sip:alice@127.0.0.1:%d>" % ua.port

    tr = await cl.digest_request(ua, "REGISTER", "sip:" + cl.SIP_DOMAIN, "alice", pw["alice"], from_uri=ALICE,
                                 to_uri=ALICE, headers=[("Contact", ua_contact), ("Expires", "60")])
    t.eq(tr.code, 200, "alice REGISTERs with her password (401, then 200)", repr(tr))

    g0 = gw.mark()
    tr = await ua.request("MESSAGE", JULIET, from_uri=ALICE, body="no credentials",
                          content_type="text/plain")
    got = await gw.wait_request("MESSAGE", timeout=1, start=g0)
    t.ok(tr.code == 407 and got is None, "a MESSAGE from alice without credentials -> 407, nothing reaches "
         "the gateway", "%r\n%s" % (tr, cl.summary(got)))

    g0 = gw.mark()
    tr = await cl.digest_request(ua, "MESSAGE", JULIET, "alice", pw["alice"], from_uri=ALICE,
                                 headers=[("P-Asserted-Identity", "<sip:boss@%s>" % cl.SIP_DOMAIN)],
                                 body="hello", content_type="text/plain")
    got = await gw.wait_request("MESSAGE", timeout=3, start=g0)
    t.ok(tr.code == 200 and got is not None and got.ruri == JULIET
         and got.header_lines("p-asserted-identity") == ["<%s>" % ALICE],
         "authenticated, with a P-Asserted-Identity of her own making -> the gateway gets the Request-URI "
         "unchanged and exactly one P-Asserted-Identity: <%s>" % ALICE, "%r\n%s" % (tr, cl.summary(got)))

    g0 = gw.mark()
    tr = await cl.digest_request(ua, "MESSAGE", JULIET, "alice", pw["alice"], from_uri="sip:carol@" + cl.SIP_DOMAIN,
                                 body="I am carol", content_type="text/plain")
    got = await gw.wait_request("MESSAGE", timeout=1, start=g0)
    t.ok(tr.code == 403 and got is None, "alice's credentials with carol's From -> 403, nothing "
         "reaches the gateway", "%r\n%s" % (tr, cl.summary(got)))

    g0 = gw.mark()
    tr = await ua.request("MESSAGE", JULIET, from_uri="sip:eve@evil.test", body="hi", content_type="text/plain")
    got = await gw.wait_request("MESSAGE", timeout=1, start=g0)
    t.ok(tr.code == 403 and got is None, "a MESSAGE from another domain to an XMPP user -> 403",
         "%r\n%s" % (tr, cl.summary(got)))

    u0 = ua.mark()
    tr = await gw.request("MESSAGE", ALICE, from_uri=JULIET, body="from the gateway", content_type="text/plain",
                          headers=[("Route", "<%s;lr>" % kam.server_uri)])
    got = await ua.wait_request("MESSAGE", timeout=3, start=u0)
    t.ok(tr.code == 200 and got is not None and got.body == b"from the gateway",
         "the gateway's MESSAGE to alice (outbound-proxy Route) is not challenged and reaches her contact",
         "%r\n%s" % (tr, cl.summary(got)))

    g0 = gw.mark()
    tr = await gw.request("MESSAGE", "sip:romeo@" + cl.XMPP_DOMAIN, from_uri=JULIET, body="loop?",
                          content_type="text/plain")
    got = await gw.wait_request("MESSAGE", timeout=1, start=g0)
    t.ok(tr.code == 482 and got is None, "the gateway cannot route into the XMPP domains through the proxy (482)",
         "%r\n%s" % (tr, cl.summary(got)))

    t.ok(len(wire.msgs) > 0, "Kamailio mirrors the SIP it handles to SIPTRACE_URI (%d copies)" % len(wire.msgs))
    status, _, killed = await kam.stop()
    t.ok(status == 0 and not killed, "Kamailio exits 0 on SIGTERM", "status %r" % status)
    errors = [ln for ln in kam.log_text().splitlines() if " ERROR: " in ln and "io_watch_del" not in ln
              and "send_fd" not in ln and "send2child" not in ln]
    t.ok(not errors, "no ERROR in Kamailio's log", "\n".join(errors[-20:]))


cl.run(main, timeout=60)
