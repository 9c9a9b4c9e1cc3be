#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One source must not fill the subscription table, nor flood an XMPP user
with subscription requests (stox.conf(5): max-subscriptions-per-source,
-per-watcher, -per-user; docs/deployment.md section 11).

stoxd runs with small limits (10 per source, 5 per watcher, 8 per XMPP
user); the scripted UA is the trusted proxy and asserts every watcher.

  - 40 SUBSCRIBEs of romeo to juliet: 5 dialogs, then 503 with
    Retry-After; stoxd sends juliet ONE subscription request (the wire to
    Prosody is read from its log).  20 fetches (Expires: 0) of mercutio:
    all answered, one subscription request.
  - juliet's watchers stop at 8 (503 for the 9th watcher), the source at
    10 dialogs (503 for the 11th, to another user).
  - The dialogs that were accepted keep working: juliet's approval makes
    romeo's five active.
"""

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

JULIET = "juliet@" + st.XMPP_DOMAIN
PIDF_CT = st.PIDF_CT
LIMITS = {("gateway", "max-subscriptions-per-source"): "10",
          ("gateway", "max-subscriptions-per-watcher"): "5",
          ("gateway", "max-subscriptions-per-user"): "8"}


def brief(msg):
    return msg.text(800) if msg is not None else "(nothing arrived)"


async def main(t):
    env = await st.Env.start(t, users=("juliet",), online=("juliet",), stoxd_kw={"overrides": LIMITS})
    ua, juliet, pros = env.ua, env.clients["juliet"], env.prosody
    t.ok(await env.wait_component(juliet), "stoxd's component is connected to Prosody")

    def subscribe(watcher, user, expires=300):
        uri = "sip:%s@%s" % (watcher, st.SIP_DOMAIN)
        return ua.request("SUBSCRIBE", "sip:%s@%s" % (user, st.XMPP_DOMAIN), from_uri=uri, omit=("contact",),
                          headers=[("Contact", "<sip:%s@127.0.0.1:%d>" % (watcher, ua.port)),
                                   ("Event", "presence"), ("Accept", PIDF_CT), ("Expires", str(expires)),
                                   st.asserted(uri)])

    def asked(pmark, watcher):
        return [a for _, a in pros.component_stanzas(pmark, "presence")
                if a.get("type") == "subscribe" and a.get("to", "").split("/")[0] == JULIET
                and a.get("from", "").split("/")[0] == "%s@%s" % (watcher, st.COMPONENT)]

    # -- per watcher, and one request per pair ----------------------------------
    pmark = pros.log_mark()
    codes, romeo = [], []
    for _ in range(40):
        tr = await subscribe("romeo", "juliet")
        codes.append(tr.code)
        if tr.code == 200:
            romeo.append(tr.request.get("call-id"))
    refused = [c for c in codes if c == 503]
    t.ok(codes[:5] == [200] * 5 and len(refused) == 35,
         "40 SUBSCRIBEs of romeo to juliet: 5 dialogs (max-subscriptions-per-watcher = 5), then 503", repr(codes))
    tr = await subscribe("romeo", "juliet")
    ra = tr.final.get("retry-after") if tr.final else None
    t.ok(tr.code == 503 and ra is not None and ra.strip().isdigit() and int(ra) > 0,
         "the 503 carries Retry-After", brief(tr.final))
    await st.wait_until(lambda: asked(pmark, "romeo"), 3)
    await st.wait_until(lambda: len(asked(pmark, "romeo")) > 1, 1.0)
    t.eq(len(asked(pmark, "romeo")), 1, "stoxd sent juliet ONE subscription request from romeo@sip.test")

    pmark = pros.log_mark()
    fetches = [(await subscribe("mercutio", "juliet", expires=0)).code for _ in range(20)]
    await st.wait_until(lambda: asked(pmark, "mercutio"), 3)
    await st.wait_until(lambda: len(asked(pmark, "mercutio")) > 1, 1.0)
    t.ok(fetches == [200] * 20 and len(asked(pmark, "mercutio")) == 1,
         "20 fetches (Expires: 0) of mercutio: all answered, ONE subscription request",
         "codes %r, requests %r" % (fetches, asked(pmark, "mercutio")))

    # -- per XMPP user -----------------------------------------------------------
    codes = [(await subscribe(w, "juliet")).code for w in ("benvolio", "tybalt", "paris")]
    t.eq(codes, [200, 200, 200], "three more watchers of juliet: 8 dialogs on her")
    tr = await subscribe("nurse", "juliet")
    t.ok(tr.code == 503 and "per-user" in (tr.final.get("warning") or ""),
         "a 9th watcher of juliet -> 503 (max-subscriptions-per-user = 8)", brief(tr.final))

    # -- per source --------------------------------------------------------------
    codes = [(await subscribe(w, "rosaline")).code for w in ("benvolio", "tybalt")]
    t.eq(codes, [200, 200], "two watchers of rosaline: 10 dialogs from this source")
    tr = await subscribe("paris", "rosaline")
    t.ok(tr.code == 503 and "per-source" in (tr.final.get("warning") or ""),
         "an 11th dialog from the same source -> 503 (max-subscriptions-per-source = 10)", brief(tr.final))

    # -- what was accepted still works -----------------------------------------------
    mark = ua.mark()
    juliet.send_raw('<presence xmlns="jabber:client" to="romeo@%s" type="subscribed"/>' % st.COMPONENT)
    await st.wait_until(lambda: len({r.get("call-id") for r in ua.requests_since(mark, "NOTIFY")
                                     if st.substate(r)[0] == "active"} & set(romeo)) == 5, 5)
    active = {r.get("call-id") for r in ua.requests_since(mark, "NOTIFY") if st.substate(r)[0] == "active"}
    t.eq(len(active & set(romeo)), 5, "juliet approves romeo: his five dialogs turn active")

    code, _ = await env.stoxd.stop()
    t.eq(code, 0, "stoxd exits 0 on SIGTERM")


st.run(main)
