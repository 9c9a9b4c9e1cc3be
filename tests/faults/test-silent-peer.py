#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/mappings.md §3.6: a SIP peer that never answers.  An XMPP message to
it becomes a MESSAGE that nobody answers; the SIP stack gives up after
timer F (64 × T1 = 32 s, RFC 3261 §17.1.2.2) with 408, which reaches the
XMPP sender as an error stanza with <remote-server-timeout/> (RFC 7247
§7.2 Table 3).  Nothing shorter is possible without changing T1, which
stoxd does not expose, so the test takes about 35 s."""

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import stoxtest as st  # noqa: E402

TIMER_F = 32.0


async def main(t):
    env = await st.Env.start(t, users=["bob"], online=["bob"])
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    rules = st.Rules(d.rules)
    want, where = rules.sip_to_xmpp(408, "remote-server-timeout")
    t.ok(await st.wait_component(bob, 15), "component connected to Prosody")

    # The outbound proxy receives and stays silent: no 100, no final answer.
    ua.responder = lambda req: None

    mk, m = ua.mark(), bob.mark()
    sent_at = time.monotonic()
    mid = bob.send_message("alice@" + st.COMPONENT, body="anyone there?", mid="silent-1", mtype="chat")
    req = await ua.wait_request("MESSAGE", timeout=5, start=mk)
    t.ok(req is not None and req.body == b"anyone there?", "the MESSAGE reaches the silent SIP peer",
         repr(ua.requests_since(mk)))

    err = await bob.expect(lambda s: s.type == "error" and s.attr("id") == mid, start=m,
                           timeout=TIMER_F + 10)
    elapsed = time.monotonic() - sent_at
    cond = err.error_condition() if err is not None else (None, None, False)
    t.ok(err is not None, "an error stanza comes back to the XMPP sender (after %.1f s)" % elapsed,
         "inbox: %r" % bob.since(m, kind=None))
    t.eq(cond[0], want, "its condition is <%s/> (408, %s)" % (want, where), err.text if err else None)
    t.ok(err is not None and TIMER_F - 1 <= elapsed <= TIMER_F + 8,
         "it comes when the SIP transaction times out (timer F, 32 s): %.1f s" % elapsed)
    retrans = len([r for r in ua.all_requests[0:] if r.method == "MESSAGE" and r.branch == (req.branch if req else None)])
    t.ok(retrans > 1, "the MESSAGE was retransmitted over UDP meanwhile (%d copies)" % retrans)
    t.ok(len(bob.since(m, kind="message", pred=lambda s: s.attr("id") == mid)) == 1,
         "exactly one answer to the stanza")

    # The gateway is still fine afterwards.
    ua.responder = None
    mk = ua.mark()
    bob.send_message("alice@" + st.COMPONENT, body="and now?", mid="silent-2", mtype="chat")
    req = await ua.wait_request("MESSAGE", timeout=5, start=mk)
    t.ok(req is not None, "the next message still goes out")
    t.ok(d.running, "stoxd still running")


st.run(main, timeout=90)
