#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One big MESSAGE must not cost the component link, and a link that falls
loses nothing in silence (stox.conf(5) max-stanza-size, stoxd(8)).

  - A MESSAGE whose stanza would be 600 KiB (150 000 '<', each written
    "&lt;") is over Prosody's component limit (512 KiB): before, stoxd
    answered 202, Prosody closed the stream and what followed got 503.
    Now: 413, nothing reaches Prosody, the link stays up, and a 240 KiB
    stanza (the default limit is 256 KiB) is delivered.
  - Prosody stops reading (SIGSTOP) while MESSAGEs of 50 KiB arrive
    (bounce-wait 0: each answered 202 at once); stoxd's socket buffers
    fill and its stanzas wait in the component's queue; Prosody is killed.
    Every stanza that was never written to the socket gets its "not
    delivered" MESSAGE back to the sender: the last ones sent, each once.
"""

import asyncio
import os
import re
import signal

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

ALICE = "sip:alice@" + st.SIP_DOMAIN


def brief(tr):
    return tr.final.text(600) if tr is not None and tr.final is not None else repr(tr)


async def main(t):
    env = await st.Env.start(t, users=("bob",), online=("bob",), stoxd_kw={"bounce_wait": 0})
    d, ua, bob, pros = env.stoxd, env.ua, env.clients["bob"], env.prosody
    t.ok(await env.wait_component(bob), "stoxd's component is connected to Prosody")

    # -- 1. the stanza cap ---------------------------------------------------
    pmark = pros.log_mark()
    tr = await ua.message("bob@" + st.XMPP_DOMAIN, "<" * 150000, transport="tcp", timeout=10)
    t.ok(tr.code == 413 and "max-stanza-size" in (tr.final.get("warning") or ""),
         "a MESSAGE that would be a 600 KiB stanza -> 413, naming max-stanza-size", brief(tr))
    await asyncio.sleep(1.0)
    big = [a for n, a in pros.component_stanzas(pmark, "message")]
    t.ok(not big and d.running, "nothing of it reached Prosody", repr(big))

    m = bob.mark()
    body = "<" * 60000
    tr = await ua.message("bob@" + st.XMPP_DOMAIN, body, transport="tcp", timeout=10)
    got = await bob.expect(lambda s: s.body == body, start=m, timeout=10)
    t.ok(tr.code == 202 and got is not None,
         "the link stayed up: a 240 KiB stanza (60 000 '<') -> 202 and bob gets it whole", brief(tr))

    # -- 2. the link falls with stanzas queued ---------------------------------
    os.kill(pros.proc.pid, signal.SIGSTOP)
    n, codes, mk = 200, [], ua.mark()
    text = "x" * (50 * 1024)
    for i in range(n):
        tr = await ua.message("juliet%d@%s" % (i, st.XMPP_DOMAIN), text, transport="tcp", timeout=5)
        codes.append(tr.code)
    t.ok(codes == [202] * n, "Prosody stopped: %d MESSAGEs of 50 KiB -> 202 each (bounce-wait 0)" % n,
         repr(sorted(set(codes), key=str)))
    pros.expect_exit = True
    os.kill(pros.proc.pid, signal.SIGKILL)

    def notices():
        out = []
        for r in ua.requests_since(mk, "MESSAGE"):
            m_ = re.search(r"message to juliet(\d+)@", r.body.decode("utf-8", "replace"))
            if m_ and r.ruri == ALICE and "deliver" in r.body.decode("utf-8", "replace"):
                out.append(int(m_.group(1)))
        return out
    await st.wait_until(lambda: notices(), 10)
    await asyncio.sleep(1.5)
    got = notices()
    t.ok(got, "the stanzas never written get 'not delivered' MESSAGEs back to alice (%d of %d)" % (len(got), n),
         "MESSAGEs through the proxy: %d" % len(ua.requests_since(mk, "MESSAGE")))
    t.ok(got and len(got) == len(set(got)) and sorted(got) == list(range(n - len(got), n)),
         "... one each, for the last %d sent (what was still queued)" % len(got), repr(sorted(got)))
    tr = await ua.message("bob@" + st.XMPP_DOMAIN, "while the server is gone")
    t.eq(tr.code, 503, "while the link is down a MESSAGE gets 503", brief(tr))


st.run(main)
