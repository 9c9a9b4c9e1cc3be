#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The installed Debian package, run the way its systemd unit runs it.

Needs root and the stox package installed (tests/package/run installs it;
debian/tests/control runs this as the autopkgtest).  Checks the system user,
the generated secret and the shipped /etc/stox/stox.conf: as installed it
fails --check-config naming the two keys left to fill in.  Then it fills
them in place (the domains, plus this test's private ports), as an operator
would, and runs the installed /usr/sbin/stoxd as _stox (setpriv: no
capabilities, no new privileges, umask 0077, STATE_DIRECTORY as systemd
sets it) between a private Prosody, whose component secret is the one the
package generated, and a scripted SIP proxy: a MESSAGE crosses each way.
The shipped stox.conf is put back at the end.

STOXD (default /usr/sbin/stoxd) names the binary under test.
"""

import asyncio
import grp
import os
import pwd
import re
import socket
import stat
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
os.environ.setdefault("STOXD", "/usr/sbin/stoxd")
import stoxtest as st  # noqa: E402

CONF = "/etc/stox/stox.conf"
SECRET = "/etc/stox/secret"
STATE = "/var/lib/stox"
USER = "_stox"
EX_CONFIG = 78


def as_stox():
    """The unit's User=, Group=, NoNewPrivileges=, CapabilityBoundingSet=
    and UMask=, by setpriv (which execs, so the PID is stoxd's)."""
    return ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
            "/bin/sh", "-c", 'umask 0077 && exec "$0" "$@"']


def run_as_stox(args, timeout=20):
    r = subprocess.run(as_stox() + [st.STOXD] + args, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def set_keys(text, values):
    """`text` with `key = value` set inside its [group] for each
    (group, key): value; a key not in the file is a test failure."""
    out, group, seen = [], None, set()
    for line in text.splitlines(keepends=True):
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            group = m.group(1)
        m = re.match(r"([A-Za-z-]+)\s*=", line)
        if m and (group, m.group(1)) in values:
            line = "%s = %s\n" % (m.group(1), values[(group, m.group(1))])
            seen.add((group, m.group(1)))
        out.append(line)
    missing = set(values) - seen
    if missing:
        raise RuntimeError("not in the shipped %s: %s" % (CONF, sorted(missing)))
    return "".join(out)


class InstalledStoxd(st.Stoxd):
    """The harness's stoxd, with the installed config instead of a generated
    one, run as _stox."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.config = CONF

    def write_config(self, path=None):
        return CONF

    def start(self, args=None):
        if self.notify_path and self.notify_sock is None:
            # _stox must be able to reach the harness's notify socket
            os.chmod(self.dir, 0o711)
            self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.notify_sock.bind(self.notify_path)
            os.chmod(self.notify_path, 0o666)
            self.notify_sock.setblocking(False)
            asyncio.get_running_loop().add_reader(self.notify_sock.fileno(), self._on_notify)
        return super().start(args)


async def main(t):
    if os.geteuid() != 0:
        raise st.BailOut("needs root (it runs stoxd as %s and edits %s)" % (USER, CONF))

    # -- what the package set up --------------------------------------------
    try:
        pw = pwd.getpwnam(USER)
        gr = grp.getgrnam(USER)
    except KeyError:
        pw = gr = None
    t.ok(pw is not None and gr is not None and pw.pw_gid == gr.gr_gid and pw.pw_uid < 1000
         and pw.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin"),
         "the package made the system user %s (group %s, uid below 1000, no login shell)" % (USER, USER),
         repr((pw, gr)))
    try:
        sst = os.stat(SECRET)
        with open(SECRET, encoding="utf-8") as f:
            secret_text = f.read()
    except OSError as e:
        sst, secret_text = None, ""
        t.diag("%s: %s" % (SECRET, e))
    secret = secret_text.rstrip("\n")
    t.ok(sst is not None and stat.S_IMODE(sst.st_mode) == 0o640 and sst.st_uid == 0
         and gr is not None and sst.st_gid == gr.gr_gid,
         "%s is mode 0640, owner root, group %s" % (SECRET, USER),
         repr(sst))
    t.ok(len(secret) >= 32 and "\n" not in secret and re.fullmatch(r"[0-9a-f]+", secret) is not None,
         "the generated secret is one line of %d hex digits" % len(secret), repr(secret_text[:8] + "…"))
    try:
        sd = os.stat(STATE)
    except OSError:
        sd = None
    t.ok(sd is not None and stat.S_ISDIR(sd.st_mode) and sd.st_uid == pw.pw_uid
         and stat.S_IMODE(sd.st_mode) == 0o700,
         "%s is a directory of %s, mode 0700" % (STATE, USER), repr(sd))
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Conffiles}", "stox"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    conffiles = [line.split()[0] for line in r.stdout.decode().splitlines() if line.strip()]
    want = [CONF] + ["/etc/stox/rules.d/" + n for n in sorted(os.listdir("/etc/stox/rules.d"))]
    t.ok(r.returncode == 0 and sorted(conffiles) == sorted(want) and len(want) >= 4,
         "stox.conf and every rule file are conffiles (%d)" % len(conffiles),
         "dpkg: %r\nwant: %r" % (conffiles, want))

    with open(CONF, encoding="utf-8") as f:
        shipped = f.read()
    st._add_cleanup(lambda: open(CONF, "w", encoding="utf-8").write(shipped))

    # -- as shipped: refused, and the message says which keys ---------------
    code, out = run_as_stox(["--check-config", "-c", CONF])
    t.ok(code == EX_CONFIG and "[sip] domain" in out and "[gateway] xmpp-domains" in out,
         "as shipped, --check-config (as %s) exits 78 naming [sip] domain and [gateway] xmpp-domains"
         % USER, "exit %r:\n%s" % (code, out))
    other = [line for line in out.splitlines()
             if line.strip() and "[sip] domain" not in line and "[gateway] xmpp-domains" not in line]
    t.ok(not other, "… and nothing else in the shipped config is wrong", "\n".join(other))
    code, out = run_as_stox(["-c", CONF], timeout=10)
    t.ok(code == EX_CONFIG and "[sip] domain" in out,
         "as shipped, stoxd itself exits 78 at once (RestartPreventExitStatus: no restart loop)",
         "exit %r:\n%s" % (code, out))

    # -- filled in as an operator would, with this test's ports -------------
    pros = st.Prosody(t, secret=secret)
    await pros.start()
    await pros.register_async("bob", "pw-bob")
    ua = await st.SipUA(t).start()
    sip_port = st.free_port()
    filled = set_keys(shipped, {
        ("sip", "domain"): st.SIP_DOMAIN,
        ("gateway", "xmpp-domains"): st.XMPP_DOMAIN,
        # a private copy of the harness's ports (the shipped 5070/5060/5347)
        ("sip", "listen"): "sip:%s:%d" % (st.LOOPBACK, sip_port),
        ("sip", "outbound-proxy"): "sip:%s:%d;lr" % (st.LOOPBACK, ua.port),
        ("xmpp", "port"): str(pros.component_port),
    })
    with open(CONF, "w", encoding="utf-8") as f:
        f.write(filled)
    code, out = run_as_stox(["--check-config", "-c", CONF])
    t.ok(code == 0 and "OK" in out, "filled in, --check-config (as %s) says OK" % USER,
         "exit %r:\n%s" % (code, out))

    # -- the installed binary, as the unit runs it ---------------------------
    d = InstalledStoxd(t, prosody=pros, sip_port=sip_port, log_level="info")
    d.prefix = as_stox()
    d.env = {"STATE_DIRECTORY": STATE}
    d.start()
    ua.peer = (st.LOOPBACK, sip_port)
    await d.wait_ready(15)
    t.ok(d.running, "installed stoxd runs as %s and sends READY=1" % USER)
    try:
        with open("/proc/%d/status" % d.proc.pid) as f:
            status = f.read()
    except OSError:
        status = ""
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M)
    caps = re.search(r"^CapBnd:\s+([0-9a-f]+)", status, re.M)
    nnp = re.search(r"^NoNewPrivs:\s+(\d)", status, re.M)
    t.ok(uids is not None and int(uids.group(1)) == pw.pw_uid and int(uids.group(2)) == pw.pw_uid
         and caps is not None and int(caps.group(1), 16) == 0 and nnp is not None and nnp.group(1) == "1",
         "… with uid %d, no capabilities, no new privileges" % pw.pw_uid, status)

    bob = await st.XmppClient(t, pros, "bob", "pw-bob").connect()
    t.ok(await st.wait_component(bob), "the component authenticated with the generated secret")

    m = bob.mark()
    tr = await ua.message("sip:bob@%s" % st.XMPP_DOMAIN, "ping from the package 📦")
    got = await bob.expect(lambda s: (s.frm or "").startswith("alice@" + st.COMPONENT), start=m)
    t.ok(tr.code == 202 and got is not None and got.body == "ping from the package 📦",
         "SIP → XMPP: MESSAGE from alice@sip.test reaches bob, 202 Accepted",
         "SIP %r, XMPP %r" % (tr, got))

    mark = ua.mark()
    bob.send_message("alice@" + st.COMPONENT, body="pong to the package ✓")
    req = await ua.wait_request("MESSAGE", start=mark, timeout=5)
    t.ok(req is not None and req.body.decode("utf-8", "replace") == "pong to the package ✓"
         and (req.uri_of("to") or "").startswith("sip:alice@" + st.SIP_DOMAIN),
         "XMPP → SIP: bob's <message> reaches the proxy as a MESSAGE to sip:alice@sip.test",
         req.text() if req else "nothing arrived")

    code, secs = await d.stop()
    t.ok(code == 0, "SIGTERM: exit 0 in %.1f s" % secs, "exit %r" % code)
    db = os.path.join(STATE, "stox.db")
    try:
        dbs = os.stat(db)
    except OSError:
        dbs = None
    t.ok(dbs is not None and dbs.st_uid == pw.pw_uid and not (dbs.st_mode & 0o077),
         "its state went to %s/stox.db, owned by %s, not readable by others" % (STATE, USER), repr(dbs))
    await bob.disconnect()


if __name__ == "__main__":
    st.run(main)
