#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""XMPP → SIP back-pressure (stox.conf(5) [sip] max-requests-in-flight):
with the limit at 10 and a SIP peer that answers nothing yet, 100
messages from bob do not become 100 SIP transactions at once: stoxd stops reading
the component link once 10 MESSAGEs (plus what one read of the socket
already held) are unanswered, and reads on as the answers come; every
message arrives once, and nothing is refused."""

import asyncio

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

ALICE = "alice@" + st.COMPONENT
LIMIT = 10
N = 100
# One read of the component socket (libstrophe reads 4 KiB) may hold this
# many of these stanzas (over 100 bytes each as Prosody writes them)
# beyond the limit before reading stops.
ONE_READ = 4096 // 100


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"],
                             stoxd_kw={"overrides": {("sip", "max-requests-in-flight"): str(LIMIT)}})
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody")

    ua.responder = lambda req: st.DEFER if req.method == "MESSAGE" else 200
    mark = ua.mark()
    bm = bob.mark()
    for i in range(N):
        bob.send_message(ALICE, body="bp-%03d" % i, mid="bp-%03d" % i)

    # Nothing is answered: the first ones arrive, then no more.
    await ua.wait_request("MESSAGE", start=mark, timeout=5)
    await asyncio.sleep(2.0)
    held = len(ua.requests_since(mark, "MESSAGE"))
    t.ok(LIMIT <= held <= LIMIT + ONE_READ,
         "with none answered, %d MESSAGEs in flight (limit %d, one read %d)" % (held, LIMIT, ONE_READ))
    t.ok(held < N, "the rest waits in the XMPP server, not in the gateway")

    # Answer as they come: the rest follows.
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        for r in ua.pending():
            ua.respond(r, 200)
        if len(ua.requests_since(mark, "MESSAGE")) >= N and not ua.pending():
            break
        await asyncio.sleep(0.05)
    got = [r.body.decode() for r in ua.requests_since(mark, "MESSAGE")]
    t.eq(len(got), N, "every message became one MESSAGE")
    t.eq(sorted(got), ["bp-%03d" % i for i in range(N)], "each exactly once")
    t.eq(got, ["bp-%03d" % i for i in range(N)], "in the order bob sent them")
    await asyncio.sleep(0.5)
    t.eq(bob.since(bm, pred=lambda s: s.type == "error"), [], "no error came back to bob")
    t.ok(d.running, "stoxd still running")


st.run(main)
