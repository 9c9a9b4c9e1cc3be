#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd(8), stox.conf(5): command line, exit codes, --check-config, the
configuration's strictness; then a running stoxd: a secret with ' ; ' in it,
SIGHUP with a broken and then a valid rule file, SIGINT."""

import asyncio
import os
import re
import signal
import socket
import subprocess
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
    # A config whose secret holds " ; " (stox.conf(5): a value runs to the
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
    # Every library with the version this host runs (pkg-config knows the
    # installed ones; Sofia-SIP's .pc names the same release).
    installed = {"GLib": "glib-2.0", "Sofia-SIP": "sofia-sip-ua", "libstrophe": "libstrophe",
                 "libxml2": "libxml-2.0", "OpenSSL": "openssl", "SQLite": "sqlite3",
                 "libsoup": "libsoup-3.0"}
    for name, pc in installed.items():
        want = subprocess.run(["pkg-config", "--modversion", pc], capture_output=True, text=True).stdout.strip()
        m = re.search(r"^\s+%s (\S+)" % re.escape(name), out, re.M)
        t.ok(want and m and m.group(1) == want, "--version lists %s %s" % (name, want), out)
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

    # --- non-ASCII in the log (GLib converts to the locale's charset) ------
    p = conf(d, name="utf8", overrides={("xmpp", "port"): "é"})
    utf8 = {"LANG": "C.UTF-8", "LC_ALL": "", "LC_CTYPE": "", "LC_MESSAGES": ""}
    rc, out = await st.run_stoxd(["-c", p, "--log-level=error"], env=utf8)
    t.ok(rc == st.EX_CONFIG and "[xmpp] port: not a number: 'é'" in out,
         "LANG=C.UTF-8: a logged 'é' reaches stderr as 'é', not '?'", "rc=%r out=%r" % (rc, out))

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
    # The secret's files: a world-readable config holding it is warned
    # about, a world-readable secret-file refused (stox.conf(5) SECURITY).
    p = conf(d, name="readable")
    os.chmod(p, 0o644)
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == 0 and "warning: %s: [xmpp] secret: every user can read this file (mode 0644)" % p in out,
         "secret = … in a world-readable config → a warning naming [xmpp] secret", out)
    secret_file = os.path.join(d.dir, "secret")
    with open(secret_file, "w") as f:
        f.write(secret + "\n")
    os.chmod(secret_file, 0o644)
    p = conf(d, name="secret-file", overrides={("xmpp", "secret"): None, ("xmpp", "secret-file"): secret_file})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[xmpp] secret-file: '%s' can be read by every user" % secret_file in out,
         "a world-readable secret-file → exit 78 naming [xmpp] secret-file", "rc=%r out=%r" % (rc, out))
    os.chmod(secret_file, 0o640)
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == 0 and "warning" not in out, "the same secret-file at 0640 → OK, no warning", out)

    open_cfg = {("sip", "trusted-peers"): "*", ("gateway", "xmpp-domains"): "*"}
    p = conf(d, name="open", overrides=open_cfg)
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == 0 and "warning: %s: [sip] trusted-peers: '*'" % p in out and "open relay" in out
         and "warning: %s: [gateway] xmpp-domains: '*'" % p in out,
         "trusted-peers = * and xmpp-domains = * → exit 0 with a warning naming each", out)

    missing = os.path.join(d.dir, "no-such-rules.d")
    p = conf(d, name="norules", overrides={("gateway", "rules"): missing})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    named = "%s: [gateway] rules: %s: cannot read rule directory" % (p, missing)
    t.ok(rc == st.EX_CONFIG and named in out,
         "missing rules directory → exit 78 naming the config file, [gateway] rules and the directory",
         "rc=%r out=%r" % (rc, out))
    rc, out = await st.run_stoxd(["-c", p, "--log-level=error"])
    t.ok(rc == st.EX_CONFIG and named in out,
         "… and a start fails the same way (78, naming the file and the key)", "rc=%r out=%r" % (rc, out))

    # --- the state directory: created, written, its database readable ---
    fresh = os.path.join(d.dir, "fresh", "state")
    p = conf(d, name="fresh-state", overrides={("gateway", "state-dir"): fresh})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    mode = os.stat(fresh).st_mode & 0o777 if os.path.isdir(fresh) else None
    t.ok(rc == 0 and mode is not None and mode & 0o077 == 0,
         "missing state-dir → --check-config creates it as a start would (private) and says OK",
         "rc=%r mode=%r out=%r" % (rc, mode, out))
    blocker = os.path.join(d.dir, "a-file")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    p = conf(d, name="bad-state", overrides={("gateway", "state-dir"): os.path.join(blocker, "state")})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "%s: [gateway] state-dir: " % p in out and "Not a directory" in out,
         "state-dir that cannot be created → exit 78 naming [gateway] state-dir (a start would fail)",
         "rc=%r out=%r" % (rc, out))
    junk = os.path.join(d.dir, "junk-state")
    os.makedirs(junk)
    with open(os.path.join(junk, "stox.db"), "w") as f:
        f.write("this is not SQLite, but long enough to hold a header\n")
    p = conf(d, name="junk-state", overrides={("gateway", "state-dir"): junk})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[gateway] state-dir: " in out and "not an SQLite database" in out,
         "state-dir holding a stox.db that is not SQLite → exit 78", "rc=%r out=%r" % (rc, out))
    envdir = os.path.join(d.dir, "from-systemd")
    p = conf(d, name="env-state", overrides={("gateway", "state-dir"): None})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"], env={"STATE_DIRECTORY": envdir})
    t.ok(rc == 0 and os.path.isdir(envdir) and ("state in %s" % envdir) in out,
         "no state-dir: $STATE_DIRECTORY (systemd's StateDirectory=) is used", "rc=%r out=%r" % (rc, out))

    # --- the SIP port, when --check-config can tell ------------------------
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        name = "UDP" if kind == socket.SOCK_DGRAM else "TCP"
        holder = socket.socket(socket.AF_INET, kind)
        holder.bind((st.LOOPBACK, 0))
        if kind == socket.SOCK_STREAM:
            holder.listen(1)
        port = holder.getsockname()[1]
        p = conf(d, name="busy", overrides={("sip", "listen"): "sip:%s:%d" % (st.LOOPBACK, port)})
        rc, out = await st.run_stoxd(["-c", p, "--check-config"])
        t.ok(rc == 0 and ("warning: %s: [sip] listen: %s port %d on %s is in use" % (p, name, port, st.LOOPBACK))
             in out, "%s port held by another socket → a warning naming [sip] listen" % name,
             "rc=%r out=%r" % (rc, out))
        rc, out = await st.run_stoxd(["-c", p, "--check-config"], env={"MAINPID": "1"})
        t.ok(rc == 0 and "in use" not in out,
             "under systemctl reload (MAINPID set) the running daemon's port is not tested (%s)" % name, out)
        holder.close()
    rc, out = await st.run_stoxd(["-c", good, "--check-config"])
    t.ok(rc == 0 and "in use" not in out, "a free port → no warning", out)
    # 192.0.2.1 (TEST-NET-1) is on no host: the bind fails, nothing is sent.
    p = conf(d, name="foreign", overrides={("sip", "listen"): "sip:192.0.2.1:%d" % d.sip_port})
    rc, out = await st.run_stoxd(["-c", p, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "%s: [sip] listen: 192.0.2.1 is not an address of this host" % p in out,
         "listen on an address this host does not have → exit 78 naming [sip] listen",
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
    await exposed.wait_ready(15)   # SIGTERM is handled from here on
    seen = await st.wait_until(lambda: "xmpp-domains: '*'" in exposed.log_text(), 10)
    lines = [line for line in exposed.log_text().splitlines() if "trusted-peers: '*'" in line
             or "xmpp-domains: '*'" in line]
    t.ok(seen and len(lines) == 2 and all("WARNING" in line for line in lines),
         "start-up log warns (WARNING) about trusted-peers = * and xmpp-domains = *",
         exposed.log_tail(10))
    rc, elapsed = await exposed.stop()
    t.eq(rc, 0, "the exposed instance stops cleanly",
         "after %.2f s\n%s" % (elapsed, exposed.log_tail(15)))

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
    # XEP-0114 §3: the handshake is SHA-1(stream id + secret), hex; in a log
    # it allows an offline guess of a weak secret.
    shown = [line for line in d.log_text().splitlines() if "<handshake" in line and "/>" not in line]
    leaked = [line for line in shown if re.search(r"<handshake[^>]*>\s*[0-9a-fA-F]{40}", line)]
    t.ok(shown and not leaked and all("[redacted]" in line for line in shown),
         "the debug log shows the component handshake with its hash redacted",
         "\n".join(shown[:4]) or "no <handshake> line at debug level")

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
