#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""INTERFACE.md §1, §2: command line, exit codes, --check-config, the
configuration's strictness; then a running stoxd: a secret with ' ; ' in it,
SIGHUP with a broken and then a valid rule file, SIGINT."""

import asyncio
import os
import signal
import time

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402


def conf(d, **kw):
    """Writes a variant of d's config; kw: overrides {(g,k): v}, extra text."""
    saved_values, saved_extra = dict(d.values), d.extra
    for k, v in kw.get("overrides", {}).items():
        d.values[k] = v
    d.extra = kw.get("extra", "")
    path = os.path.join(d.dir, kw["name"] + ".conf")
    d.write_config(path)
    d.values, d.extra = saved_values, saved_extra
    return path


async def main(t):
    # A config whose secret holds " ; " (INTERFACE.md §2: a value runs to the
    # end of its line); Prosody gets the very same secret, so the handshake
    # proves stoxd used it as-is.
    secret = "abc ; x"
    pros = st.Prosody(t, secret=secret)
    ua = await st.SipUA(t).start()
    d = st.Stoxd(t, prosody=pros, proxy_port=ua.port)
    good = d.config

    # --- command line ----------------------------------------------------
    rc, out = await st.run_stoxd(["--version"])
    t.ok(rc == 0 and out.strip() != "", "--version → exit 0 and prints a version", "rc=%r out=%r" % (rc, out))
    rc, out = await st.run_stoxd(["--no-such-option", "-c", good])
    t.eq(rc, st.EX_USAGE, "unknown option → exit 64", out)
    rc, out = await st.run_stoxd(["-c", good, "--check-config", "--log-level=bogus"])
    t.eq(rc, st.EX_USAGE, "--check-config --log-level=bogus → exit 64 (command line checked first)", out)
    rc, out = await st.run_stoxd(["-c", good, "stray-argument", "--check-config"])
    t.eq(rc, st.EX_USAGE, "stray positional argument → exit 64", out)

    # --- --check-config --------------------------------------------------
    rc, out = await st.run_stoxd(["-c", good, "--check-config"])
    t.eq(rc, 0, "--check-config on a good config (secret = 'abc ; x') → exit 0", out)

    rc, out = await st.run_stoxd(["-c", os.path.join(d.dir, "does-not-exist.conf"), "--check-config"])
    t.ok(rc == st.EX_CONFIG and "does-not-exist.conf" in out, "missing config file → exit 78 naming it",
         "rc=%r out=%r" % (rc, out))

    p = conf(d, name="unknown-key", overrides={("sip", "bogus-key"): "1"})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[sip] bogus-key" in out, 'unknown key → exit 78 with "[sip] bogus-key"',
         "rc=%r out=%r" % (rc, out))

    p = conf(d, name="unknown-group", extra="\n[bogus-group]\nfoo = bar\n")
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "bogus-group" in out, "unknown group → exit 78 naming it",
         "rc=%r out=%r" % (rc, out))

    p = conf(d, name="no-domain", overrides={("sip", "domain"): None})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[sip] domain" in out, 'missing required key → exit 78 with "[sip] domain"',
         "rc=%r out=%r" % (rc, out))

    p = conf(d, name="bounce", overrides={("gateway", "bounce-wait"): "401"})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[gateway] bounce-wait" in out,
         'bounce-wait = 401 (range 0–400) → exit 78 with "[gateway] bounce-wait"', "rc=%r out=%r" % (rc, out))

    # --- safe defaults (stox.conf(5) SECURITY) ----------------------------
    p = conf(d, name="no-xmpp-domains", overrides={("gateway", "xmpp-domains"): None})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[gateway] xmpp-domains: missing" in out,
         "xmpp-domains left out → exit 78 (required; no 'any' default)", "rc=%r out=%r" % (rc, out))
    for own, what in ((st.SIP_DOMAIN, "the SIP domain"), ("gw.test", "the component's domain")):
        p = conf(d, name="own-domain", overrides={("xmpp", "component"): "gw.test",
                                                  ("gateway", "xmpp-domains"): st.XMPP_DOMAIN + ", " + own})
        rc, out = await st.run_stoxd(["-c", p, "--check-config"])
        t.ok(rc == st.EX_CONFIG and ("[gateway] xmpp-domains: '%s' is %s" % (own, what)) in out,
             "xmpp-domains naming %s (%s) → exit 78" % (what, own), "rc=%r out=%r" % (rc, out))
    rc, out = await st.run_stoxd(["-c", good, "--check-config"])
    t.ok(rc == 0 and "warning" not in out.lower(),
         "loopback listener, default trusted-peers, named xmpp-domains → no warning", out)
    open_cfg = {("sip", "trusted-peers"): "*", ("gateway", "xmpp-domains"): "*"}
    p = conf(d, name="open", overrides=open_cfg)
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == 0 and "warning: %s: [sip] trusted-peers: '*'" % p in out and "open relay" in out
         and "warning: %s: [gateway] xmpp-domains: '*'" % p in out,
         "trusted-peers = * and xmpp-domains = * → exit 0 with a warning naming each", out)

    missing = os.path.join(d.dir, "no-such-rules.d")
    p = conf(d, name="norules", overrides={("gateway", "rules"): missing})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "no-such-rules.d" in out, "missing rules directory → exit 78 naming it",
         "rc=%r out=%r" % (rc, out))

    broken = st.copy_rules(os.path.join(d.dir, "broken-rules.d"))
    with open(os.path.join(broken, "50-broken.rules"), "w") as f:
        f.write("# a comment\nxmpp-to-sip  bad-request  400\nthis-is-not-a-rule at all\n")
    p = conf(d, name="brokenrules", overrides={("gateway", "rules"): broken})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "50-broken.rules:3" in out, "broken rule file → exit 78 with FILE:LINE "
         "(50-broken.rules:3)", "rc=%r out=%r" % (rc, out))

    # --- the start-up log says what is exposed, at warning level --------
    # (no XMPP server on its component port: the warnings come before.)
    exposed = st.Stoxd(t, proxy_port=ua.port, overrides=open_cfg, name="stoxd-open",
                       log_level="warning")
    exposed.start()
    seen = await st.wait_until(lambda: "xmpp-domains: '*'" in exposed.log_text(), 10)
    lines = [line for line in exposed.log_text().splitlines() if "trusted-peers: '*'" in line
             or "xmpp-domains: '*'" in line]
    t.ok(seen and len(lines) == 2 and all("WARNING" in line for line in lines),
         "start-up log warns (WARNING) about trusted-peers = * and xmpp-domains = *",
         exposed.log_tail(10))
    rc, _ = await exposed.stop()
    t.eq(rc, 0, "the exposed instance stops cleanly")

    # --- running: the secret, SIGHUP, SIGINT -----------------------------
    await pros.start()
    await pros.register_async("bob", "pw")
    await pros.register_async("carol", "pw")   # stays offline: messages to her bounce
    d.start()
    ua.peer = (st.LOOPBACK, d.sip_port)
    await d.wait_ready(15, ua=ua)
    bob = await st.XmppClient(t, pros, "bob", "pw").connect()
    up = await st.wait_component(bob, timeout=12)
    t.ok(up, "stoxd completes the component handshake with secret 'abc ; x' (value runs to end of line)")

    rules = st.Rules(d.rules)
    want, where = rules.xmpp_to_sip("service-unavailable", 403)

    async def bounce_code():
        return await ua.message("carol@xmpp.test", "are you there?", timeout=3)
    tr = await bounce_code()
    t.eq(tr.code, want, "before SIGHUP: MESSAGE to offline carol → %s (service-unavailable, %s)" % (want, where),
         tr.final.text() if tr.final else repr(tr))

    bad = os.path.join(d.rules, "60-runtime-broken.rules")
    with open(bad, "w") as f:
        f.write("# added while running\nsip-to-xmpp 486\n")
    before = len(d.log_text())
    d.signal(signal.SIGHUP)
    logged = await st.wait_until(lambda: "60-runtime-broken.rules:2" in d.log_text()[before:], 5)
    t.ok(logged, "SIGHUP with a broken rule file → log names 60-runtime-broken.rules:2", d.log_tail(15))
    await asyncio.sleep(0.3)
    t.ok(d.running, "stoxd keeps running after a failed reload")
    tr = await ua.request("OPTIONS", d.sip_uri())
    t.eq(tr.code, 200, "OPTIONS still answered after the failed reload", repr(tr))
    tr = await bounce_code()
    t.eq(tr.code, want, "old rules stay in force: offline carol still → %s" % want,
         tr.final.text() if tr.final else repr(tr))
    r = await bob.iq(st.COMPONENT, '<ping xmlns="%s"/>' % st.NS_PING)
    t.ok(r is not None and r.type == "result", "component link survived the reload (ping → result)", repr(r))

    # a valid override row, reloaded: the new mapping takes effect
    os.unlink(bad)
    new_code = 405 if want != 405 else 403
    with open(os.path.join(d.rules, "90-local.rules"), "w") as f:
        f.write("# operator override\nxmpp-to-sip  service-unavailable  %d\n" % new_code)
    d.signal(signal.SIGHUP)
    got = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and d.running:
        await asyncio.sleep(0.3)
        tr = await ua.message("carol@xmpp.test", "are you there?", timeout=1.5)
        got = tr.code
        if got == new_code:
            break
    t.eq(got, new_code, "SIGHUP with a valid 90-local.rules row → offline carol now → %d" % new_code)

    rc, elapsed = await d.stop(signal.SIGINT)
    t.ok(rc == 0 and elapsed <= 5.0, "SIGINT → exit 0 within 5 s", "exit %r after %.2f s" % (rc, elapsed))


st.run(main)
