# SPDX-License-Identifier: GPL-2.0-or-later
"""Real SIP clients as users of stox: baresip 1.0 (Debian baresip-core) and
linphonec 5.1 (linphone-cli), registered at a private Kamailio that runs
docs/examples/kamailio-stox.cfg (registrar, proxy, presence server), with
stoxd and a private Prosody behind it.

    import clients as cl

    async def main(t):
        s = await cl.Stack.start(t)                  # Prosody, Kamailio, stoxd, juliet
        alice = await s.baresip("alice", contacts=["juliet"])
        bob = await s.linphone("bob", friends=["juliet"])
        ...

    cl.run(main)

Everything is on 127.0.0.1 and high ports; every process is started here
and stopped by its PID; every wait is bounded.  What each client shows is
read from its own output (baresip's console and log, linphonec's stdout);
what went over the wire is read from Kamailio's mirror of every SIP
message it receives or sends (the file's SIPTRACE_URI, see Wire), since
every request between the phones and stoxd passes Kamailio.

The traps of the Debian 12 packages are worked around where they bite;
each place says "TRAP".  A missing client binary fails the test: CI
installs tests/deps.txt, so an absent peer is a defect, never a SKIP.
"""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import stoxtest as st  # noqa: E402
import kamailio as kam_mod  # noqa: E402

BARESIP = os.environ.get("STOX_BARESIP") or "/usr/bin/baresip"
LINPHONEC = os.environ.get("STOX_LINPHONEC") or "/usr/bin/linphonec"
BARESIP_MODULES = "/usr/lib/baresip/modules"

SIP_DOMAIN = st.SIP_DOMAIN
XMPP_DOMAIN = st.XMPP_DOMAIN
COMPONENT = st.COMPONENT
PIDF_CT = st.PIDF_CT
ISCOMPOSING_CT = "application/im-iscomposing+xml"

run = st.run


def missing_peers():
    """The peers this tier needs and cannot find (a failure, not a skip)."""
    out = []
    for path, pkg in ((BARESIP, "baresip-core"), (LINPHONEC, "linphone-cli"),
                      (kam_mod.KAMAILIO, "kamailio"), ("/usr/bin/prosody", "prosody")):
        if not os.access(path, os.X_OK):
            out.append("%s (Debian package %s, tests/deps.txt)" % (path, pkg))
    mods = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
    if os.path.isdir(mods) and not os.path.exists(os.path.join(mods, "presence.so")):
        out.append("Kamailio's presence module (kamailio-presence-modules)")
    return out


def free_port_pair():
    """A port P free for UDP and TCP whose P+1 is free for TCP too.
    TRAP (baresip 1.0): besides UDP and TCP on its sip_listen port P it
    opens TLS on P+1 and fails when that port is taken."""
    for _ in range(50):
        p = st.free_port(tcp=True, udp=True)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((st.LOOPBACK, p + 1))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port pair")


def _pdeathsig():
    kam_mod._pdeathsig()


def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


# ---------------------------------------------------------------------------
# the wire: Kamailio's mirror of every SIP message

class Wire:
    """Collects the copies Kamailio's siptrace module sends (trace_mode 4:
    the raw message, one UDP datagram each, for every message it receives
    and every one it sends).  A relayed request is seen twice: as it came
    in and as it went out (one Via more); `to_gateway()` / `from_gateway()`
    pick the copy on the Kamailio-stoxd leg."""

    def __init__(self, t):
        self.t = t
        self.port = None
        self.msgs = []
        self._waiters = []
        self.transport = None

    async def start(self):
        loop = asyncio.get_running_loop()
        wire = self

        class Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                wire._on(data)

        for _ in range(20):
            port = st.free_port(tcp=False, udp=True)
            try:
                self.transport, _ = await loop.create_datagram_endpoint(Proto, local_addr=(st.LOOPBACK, port))
            except OSError:
                continue
            self.port = port
            st._add_cleanup(self.close)
            return self
        raise RuntimeError("wire: no free UDP port")

    def close(self):
        try:
            self.transport.close()
        except RuntimeError:   # the loop is gone already (clean-up at exit)
            pass

    def _on(self, data):
        try:
            m = st.SipMsg(data)
        except Exception:
            return
        self.msgs.append(m)
        for f in self._waiters:
            if not f.done():
                f.set_result(None)
        self._waiters = []

    def mark(self):
        return len(self.msgs)

    def since(self, mark, pred=None):
        return [m for m in self.msgs[mark:] if pred is None or pred(m)]

    async def wait(self, pred, timeout=5.0, start=0):
        """The first message from index `start` on matching pred; None
        after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.msgs[start:]:
                if pred(m):
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            f = asyncio.get_running_loop().create_future()
            self._waiters.append(f)
            try:
                await asyncio.wait_for(f, left)
            except asyncio.TimeoutError:
                pass

    async def quiet(self, pred, seconds, start=0):
        """Waits `seconds`; the messages matching pred seen meanwhile."""
        await asyncio.sleep(seconds)
        return self.since(start, pred)


def is_req(method, ruri_user=None, **kw):
    """A predicate on requests: method, Request-URI user, and header
    values to contain (header=substring)."""
    def pred(m):
        if m.is_response or m.method != method:
            return False
        if ruri_user is not None:
            u = st.parse_sip_uri(m.ruri)
            if not u or u["user"] != ruri_user:
                return False
        for h, sub in kw.items():
            if sub not in (m.get(h.replace("_", "-")) or ""):
                return False
        return True
    return pred


def is_resp(method, code=None, call_id=None):
    def pred(m):
        return (m.is_response and m.cseq_method == method and (code is None or m.code == code)
                and (call_id is None or m.get("call-id") == call_id))
    return pred


def relayed_by_kamailio(m):
    """The copy Kamailio sent on (its own Via on top)."""
    vias = m.header_lines("via")
    return bool(vias) and "kamailio" not in vias[0] and len(vias) >= 2


def body_text(m):
    return m.body.decode("utf-8", "replace") if m is not None and m.body else ""


# ---------------------------------------------------------------------------
# the stack: Prosody, Kamailio (the docs' file), stoxd, XMPP users

class Stack:
    """Prosody (XMPP users), Kamailio (SIP users with passwords), stoxd
    between them, and the wire.  `sip_users`: SIP users Kamailio
    authenticates; `xmpp_users`: accounts on Prosody (logged in with
    xmpp())."""

    SIP_USERS = ("alice", "bob", "carol")
    XMPP_USERS = ("juliet", "romeo")

    @classmethod
    async def start(cls, t, sip_users=SIP_USERS, xmpp_users=XMPP_USERS, stoxd_kw=None):
        missing = missing_peers()
        if missing:
            # a failure, never a skip (tests/README)
            raise st.BailOut("missing peers: " + "; ".join(missing))
        s = cls()
        s.t = t
        s.t0 = time.monotonic()
        s.clients = []
        s.password = "pw-" + st.rand_token(6)
        s.sip_passwords = {u: "sp-%s-%s" % (u, st.rand_token(6)) for u in sip_users}
        s.prosody = st.Prosody(t)
        await s.prosody.start()
        for u in xmpp_users:
            await s.prosody.register_async(u, s.password)
        s.wire = await Wire(t).start()
        s.stoxd_port = st.free_port(tcp=True, udp=True)
        s.kam = kam_mod.Kamailio(t, domain=SIP_DOMAIN, gateway_domain=XMPP_DOMAIN, gateway_port=s.stoxd_port,
                                 users=s.sip_passwords, trace_port=s.wire.port, shm_mb=128)
        await s.kam.start()
        s.stoxd_kw = dict(stoxd_kw or {})
        s.stoxd = st.Stoxd(t, prosody=s.prosody, proxy_port=s.kam.port, sip_port=s.stoxd_port, **s.stoxd_kw)
        s.stoxd.start()
        await s.stoxd.wait_ready(15)
        s.generation = 1
        return s

    def elapsed(self):
        return time.monotonic() - self.t0

    def refused_by_stoxd(self, start=0):
        """[(request, response)] for every request stoxd answered with an
        error (>= 300) since wire index `start`: a diagnostic."""
        out = []
        for r in self.wire.since(start, lambda m: m.is_response and m.code >= 300
                                 and top_via_port(m) == self.kam.port):
            req = next((m for m in self.wire.msgs if not m.is_response and answers(m)(r)
                        and top_via_port(m) == self.kam.port), None)
            if req is not None and (st.parse_sip_uri(req.ruri) or {}).get("port") == self.stoxd_port or \
                    (req is not None and (st.parse_sip_uri(req.ruri) or {}).get("host") == XMPP_DOMAIN):
                out.append((req, r))
        return out

    def refused_text(self, start=0):
        return "\n====\n".join("%s\n-> %s" % (summary(q, 2000), r.start)
                               for q, r in self.refused_by_stoxd(start)) or "(stoxd refused nothing)"

    async def xmpp(self, user, resource="e2e", roster=True):
        c = await st.XmppClient(self.t, self.prosody, user, self.password, resource=resource).connect()
        if roster:
            await c.fetch_roster()   # an "interested resource" (RFC 6121 §2.1.6)
        return c

    async def wait_component(self, client, timeout=15):
        return await st.wait_component(client, timeout)

    async def stop_stoxd(self, sig=signal.SIGTERM):
        """(exit code, seconds to exit) of stoxd after `sig`."""
        return await self.stoxd.stop(sig=sig)

    async def start_stoxd(self):
        """A new stoxd on the same SIP port and state-dir; returns once it
        said READY=1."""
        self.generation += 1
        self.stoxd = st.Stoxd(self.t, prosody=self.prosody, proxy_port=self.kam.port, sip_port=self.stoxd_port,
                              state_dir=self.stoxd.state_dir, name="stoxd-%d" % self.generation, **self.stoxd_kw)
        self.stoxd.start()
        await self.stoxd.wait_ready(15)
        return self.stoxd

    async def baresip(self, user, contacts=(), **kw):
        b = Baresip(self, user, contacts=contacts, **kw)
        await b.start()
        self.clients.append(b)
        return b

    async def linphone(self, user, friends=(), **kw):
        lp = Linphone(self, user, friends=friends, **kw)
        await lp.start()
        self.clients.append(lp)
        return lp

    async def stop(self):
        """Stops clients (unregistering), stoxd and Kamailio; returns
        [(name, status)] of what did not stop cleanly."""
        bad = []
        for c in reversed(self.clients):
            if not await c.stop():
                bad.append((c.name, c.proc.returncode if c.proc else None))
        code, secs = await self.stoxd.stop()
        if code != 0:
            bad.append((self.stoxd.name, code))
        status, _, killed = await self.kam.stop()
        if status != 0 or killed:
            bad.append(("kamailio", status))
        return bad


# ---------------------------------------------------------------------------
# baresip 1.0

class Baresip:
    """baresip -f DIR with a private config dir: `config` (modules cons,
    account, contact, menu, presence), `accounts` (one account, digest
    password, Kamailio as outbound proxy) and `contacts` (each with
    ;presence=p2p, so baresip SUBSCRIBEs to it).  Driven through the cons
    module over TCP on loopback: it takes the keyboard's commands
    (`/message TEXT` to the current contact, `/presence_online`,
    `/presence_offline`, `/contacts`, `/quit`).  Its own SIP trace (-s)
    and messages land in its log file."""

    def __init__(self, stack, user, contacts=(), transport="udp", name=None):
        self.stack = stack
        self.t = stack.t
        self.user = user
        self.name = name or "baresip-" + user
        self.aor = "sip:%s@%s" % (user, SIP_DOMAIN)
        self.password = stack.sip_passwords[user]
        self.transport = transport
        self.contacts = [c if "@" in c else "%s@%s" % (c, XMPP_DOMAIN) for c in contacts]
        self.dir = st.make_tempdir("stox-baresip-")
        self.log = os.path.join(self.dir, "baresip.log")
        self.sip_port = free_port_pair()
        self.cons_port = st.free_port(tcp=True, udp=True)
        while self.cons_port in (self.sip_port, self.sip_port + 1):
            self.cons_port = st.free_port(tcp=True, udp=True)
        self.proc = None
        self.expect_exit = False
        self._reader = self._writer = None
        self._cons_buf = ""
        self._write_files()
        st._add_cleanup(self._kill)
        self.t.add_log(self.name, self.log, max_lines=40)
        self.t.procs.append((self.name, self))

    def _write_files(self):
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("# private test instance (tests/clients/clients.py)\n"
                    "poll_method\t\tepoll\n"
                    "sip_listen\t\t%s:%d\n"
                    "module_path\t\t%s\n"
                    "module\t\t\tcons.so\n"
                    "cons_listen\t\t%s:%d\n"
                    "module_tmp\t\taccount.so\n"
                    "module_app\t\tcontact.so\n"
                    "module_app\t\tmenu.so\n"
                    "module_app\t\tpresence.so\n"
                    % (st.LOOPBACK, self.sip_port, BARESIP_MODULES, st.LOOPBACK, self.cons_port))
        # pubint: PUBLISH its presence to the registrar (Kamailio's
        # presence server) and refresh it; regint: REGISTER refresh
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write('<%s;transport=%s>;auth_pass=%s;outbound="sip:%s:%d;transport=%s";regint=300;pubint=300\n'
                    % (self.aor, self.transport, self.password, st.LOOPBACK, self.stack.kam.port, self.transport))
        with open(os.path.join(self.dir, "contacts"), "w") as f:
            for c in self.contacts:
                f.write('"%s" <sip:%s>;presence=p2p\n' % (c.split("@")[0], c))

    # -- process -------------------------------------------------------

    async def start(self, timeout=15):
        if not os.access(BARESIP, os.X_OK):
            raise st.BailOut("%s missing (Debian package baresip-core)" % BARESIP)
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BARESIP, "-f", self.dir, "-s"], stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir, preexec_fn=_pdeathsig)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            if await st.port_accepts(self.cons_port):
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("%s: no console on %d within %ss:\n%s"
                               % (self.name, self.cons_port, timeout, "\n".join(st.tail(self.log, 30))))
        self._reader, self._writer = await asyncio.open_connection(st.LOOPBACK, self.cons_port)
        asyncio.ensure_future(self._read_cons())
        if not await self.wait_registered(timeout=max(1.0, deadline - time.monotonic())):
            raise RuntimeError("%s: not registered within %ss:\n%s"
                               % (self.name, timeout, "\n".join(st.tail(self.log, 40))))
        return self

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    async def _read_cons(self):
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                self._cons_buf += data.decode("utf-8", "replace")
        except (ConnectionError, asyncio.CancelledError):
            pass

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return _strip_ansi(f.read().decode("utf-8", "replace"))
        except OSError:
            return ""

    async def cmd(self, line, settle=0.3):
        """Types a console command (cons takes it key by key, as typed);
        returns what the console printed meanwhile."""
        start = len(self._cons_buf)
        self._writer.write((line + "\n").encode("utf-8"))
        await self._writer.drain()
        await asyncio.sleep(settle)
        return _strip_ansi(self._cons_buf[start:])

    async def wait_registered(self, timeout=10):
        async def ok():
            out = await self.cmd("/reginfo", settle=0.2)
            return re.search(r"%s\s+OK\b" % re.escape(self.aor), out)
        return await st.wait_until(ok, timeout, interval=0.2)

    async def contact_status(self, contact):
        """The presence baresip shows for a contact in /contacts
        ("Online", "Offline", "Busy", "Away", "Unknown"), or None."""
        out = await self.cmd("/contacts", settle=0.3)
        for line in out.splitlines():
            if "<sip:%s>" % contact in line:
                words = line.replace(">", " ", 1).split()
                return words[0] if words else None
        return None

    async def wait_contact_status(self, contact, want, timeout=8):
        got = [None]

        async def ok():
            got[0] = await self.contact_status(contact)
            return got[0] == want
        await st.wait_until(ok, timeout, interval=0.3)
        return got[0]

    def messages(self):
        """[(peer, text)] baresip showed for MESSAGEs it received: its menu
        prints `PEER: "TEXT"` to the console (cons)."""
        return re.findall(r'^\r?(sips?:\S+?): "(.*)"$', _strip_ansi(self._cons_buf).replace("\r", "\n"), re.M)

    async def wait_message(self, text, timeout=5):
        return await st.wait_until(lambda: [m for m in self.messages() if m[1] == text], timeout)

    async def message(self, contact, text):
        """Sends TEXT to `contact` (must be in `contacts`): makes it the
        current contact, then /message."""
        await self.select_contact(contact)
        return await self.cmd("/message " + text)

    async def select_contact(self, contact):
        for _ in range(len(self.contacts) + 1):
            out = await self.cmd("/contacts", settle=0.3)
            cur = [ln for ln in out.splitlines() if ln.lstrip().startswith(">") and "<sip:" in ln]
            if cur and "<sip:%s>" % contact in cur[-1]:
                return True
            await self.cmd("/contact_next", settle=0.2)
        return False

    async def stop(self, timeout=5):
        """/quit (it unregisters and unpublishes), then SIGTERM, then
        SIGKILL; True when it exited by itself.
        TRAP (baresip 1.0 + Kamailio): each instance registers a new
        Contact (sip:alice-0x<address>@...); one that is killed stays in
        the location table until it expires, and MESSAGEs for the user are
        forked to it too.  So it always quits through its console."""
        self.expect_exit = True
        if not self.running:
            return self.proc is not None and self.proc.returncode == 0
        try:
            await self.cmd("/quit", settle=0)
        except (ConnectionError, OSError, AttributeError):
            pass
        await st.wait_until(lambda: not self.running, timeout)
        clean = not self.running
        self._kill()
        return clean

    def _kill(self):
        self.expect_exit = True
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:
                pass
        st._kill_pid_proc(self.proc, grace=3)


# ---------------------------------------------------------------------------
# linphonec 5.1

class Linphone:
    """linphonec with a private HOME and its own .linphonerc (-c): one
    account (digest password, Kamailio as proxy and route, PUBLISH on),
    commands on stdin (`chat URI TEXT`, `friend add NAME URI`, `ports`,
    `proxy list`, `quit`).  What it shows is its stdout ("Friend ... is
    Online", "Message received from ..."); its SIP and everything else is
    in its debug log (-d 6 -l FILE)."""

    def __init__(self, stack, user, friends=(), name=None):
        self.stack = stack
        self.t = stack.t
        self.user = user
        self.name = name or "linphone-" + user
        self.aor = "sip:%s@%s" % (user, SIP_DOMAIN)
        self.password = stack.sip_passwords[user]
        self.friends = [f if "@" in f else "%s@%s" % (f, XMPP_DOMAIN) for f in friends]
        # TRAP (linphonec 5.1): it crashes on the first `chat` unless HOME
        # is writable and its config names a [storage] uri: a private HOME
        # holding both, new for every instance.
        self.home = st.make_tempdir("stox-linphone-")
        self.rc = os.path.join(self.home, ".linphonerc")
        self.out = os.path.join(self.home, "linphonec.out")
        self.debug_log = os.path.join(self.home, "linphone-debug.log")
        self.sip_port = st.free_port(tcp=True, udp=True)
        self.proc = None
        self.expect_exit = False
        self._write_rc()
        st._add_cleanup(self._kill)
        self.t.add_log(self.name, self.out, max_lines=20)
        self.t.procs.append((self.name, self))

    def _write_rc(self):
        kam = "sip:%s:%d;transport=udp" % (st.LOOPBACK, self.stack.kam.port)
        with open(self.rc, "w") as f:
            f.write("""# private test instance (tests/clients/clients.py)
[sip]
# UDP on our port only; TCP and TLS off (by default it listens on TCP
# 5060, which parallel instances would fight over); loopback only
sip_port={port}
sip_tcp_port=0
sip_tls_port=0
bind_address=127.0.0.1
use_ipv6=0
guess_hostname=0
default_proxy=0

[storage]
uri={home}/linphone.db

[proxy_0]
reg_proxy=<{kam}>
reg_route=<{kam};lr>
reg_identity={aor}
reg_expires=300
reg_sendregister=1
publish=1

[auth_info_0]
username={user}
passwd={pw}
realm={domain}
domain={domain}

[sound]
echocancellation=0
""".format(port=self.sip_port, home=self.home, kam=kam, aor=self.aor, user=self.user, pw=self.password,
           domain=SIP_DOMAIN))

    # -- process -------------------------------------------------------

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    async def start(self, timeout=20):
        if not os.access(LINPHONEC, os.X_OK):
            raise st.BailOut("%s missing (Debian package linphone-cli)" % LINPHONEC)
        env = dict(os.environ, HOME=self.home)
        env.pop("DISPLAY", None)
        logf = open(self.out, "ab")
        self.proc = subprocess.Popen([LINPHONEC, "-c", self.rc, "-d", "6", "-l", self.debug_log],
                                     stdin=subprocess.PIPE, stdout=logf, stderr=subprocess.STDOUT,
                                     cwd=self.home, env=env, preexec_fn=_pdeathsig)
        logf.close()
        deadline = time.monotonic() + timeout
        # TRAP (linphonec 5.1): a sip_port in the config is not always the
        # port it takes ("ports sip N" at run time always works).  Ask, and
        # set it when it differs.
        port = await self._current_port(timeout=5)
        if port != self.sip_port:
            self.cmd("ports sip %d" % self.sip_port)
            port = await self._current_port(timeout=5)
        if port != self.sip_port:
            raise RuntimeError("%s: SIP port %r, not %d:\n%s" % (self.name, port, self.sip_port,
                                                               "\n".join(st.tail(self.out, 30))))
        if not await self.wait_registered(timeout=max(1.0, deadline - time.monotonic())):
            raise RuntimeError("%s: not registered within %ss:\n%s"
                               % (self.name, timeout, "\n".join(st.tail(self.out, 30))))
        for f in self.friends:
            self.cmd("friend add %s sip:%s" % (f.split("@")[0], f))
        return self

    def cmd(self, line):
        self.proc.stdin.write((line + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def output(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def debug_text(self):
        try:
            with open(self.debug_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    async def _current_port(self, timeout):
        start = len(self.output())
        self.cmd("ports")
        got = await st.wait_until(lambda: re.search(r"sip port = (\d+)", self.output()[start:]), timeout)
        return int(got.group(1)) if got else None

    async def wait_registered(self, timeout=10):
        async def ok():
            start = len(self.output())
            self.cmd("proxy list")
            await asyncio.sleep(0.3)
            return "registered: yes" in self.output()[start:]
        return await st.wait_until(ok, timeout, interval=0.2)

    def friend_statuses(self, friend):
        """Every status linphonec printed for `friend` (user@domain), in
        order: "Online", "Away", "Busy", "Offline", ..."""
        return re.findall(r'^(?:linphonec> )?Friend .*<sip:%s> is (.+?)\s*$' % re.escape(friend),
                          self.output(), re.M)

    def friend_status(self, friend):
        s = self.friend_statuses(friend)
        return s[-1] if s else None

    async def wait_friend_status(self, friend, want, timeout=8, start=0):
        """Until linphonec prints `want` for friend (as its n-th line or
        later, n = start); returns the last status printed."""
        await st.wait_until(lambda: want in self.friend_statuses(friend)[start:], timeout)
        return self.friend_status(friend)

    def messages(self):
        """[(peer, text)] linphonec printed for MESSAGEs it received."""
        return re.findall(r"^(?:linphonec> )?Message received from (.+?): (.*)$", self.output(), re.M)

    async def wait_message(self, text, timeout=5):
        return await st.wait_until(lambda: [m for m in self.messages() if m[1] == text], timeout)

    def chat(self, uri, text):
        # TRAP (linphonec 5.1): `chat URI "TEXT"`, as its help says, sends
        # the quotes as part of the text; everything after the URI is the
        # message.
        if "\n" in text:
            raise ValueError("one line only")
        self.cmd("chat %s %s" % (uri, text))

    async def stop(self, timeout=8):
        """quit: it unpublishes, unsubscribes and unregisters first.
        TRAP (Kamailio + linphonec): a linphonec that is killed leaves its
        registration behind, and MESSAGEs for the user then go to the dead
        contact too (duplicates after a restart); every instance here has
        a new HOME, so a new instance id, and quits cleanly."""
        self.expect_exit = True
        if not self.running:
            return self.proc is not None and self.proc.returncode == 0
        try:
            self.cmd("quit")
        except (BrokenPipeError, OSError):
            pass
        await st.wait_until(lambda: not self.running, timeout)
        clean = not self.running and self.proc.returncode == 0
        self._kill()
        return clean

    def _kill(self):
        self.expect_exit = True
        st._kill_pid_proc(self.proc, grace=3)


# ---------------------------------------------------------------------------
# a scripted SIP user that authenticates (RFC 2617 digest, no qop)

def _md5(s):
    import hashlib
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def _auth_params(value):
    return {k.lower(): v for k, v in re.findall(r'(\w+)\s*=\s*"?([^",]*)"?', value or "")}


async def digest_request(ua, method, ruri, user, password, headers=(), **kw):
    """SipUA.request that answers one 401/407 challenge (RFC 2617 §3.2.2,
    MD5, no qop: what the file's auth_challenge(..., "0") asks)."""
    call_id = kw.pop("call_id", None) or st.rand_token(16) + "@127.0.0.1"
    from_tag = kw.pop("from_tag", None) or st.rand_token(8)
    tr = await ua.request(method, ruri, call_id=call_id, from_tag=from_tag, headers=list(headers), **kw)
    if tr.code not in (401, 407):
        return tr
    name = "www-authenticate" if tr.code == 401 else "proxy-authenticate"
    p = _auth_params(tr.final.get(name))
    ha1 = _md5("%s:%s:%s" % (user, p.get("realm", ""), password))
    ha2 = _md5("%s:%s" % (method, ruri))
    cred = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5'
            % (user, p.get("realm", ""), p.get("nonce", ""), ruri, _md5("%s:%s:%s" % (ha1, p.get("nonce", ""), ha2))))
    if p.get("opaque"):
        cred += ', opaque="%s"' % p["opaque"]
    hname = "Authorization" if tr.code == 401 else "Proxy-Authorization"
    return await ua.request(method, ruri, call_id=call_id, from_tag=from_tag,
                            headers=list(headers) + [(hname, cred)], **kw)


# ---------------------------------------------------------------------------
# the real-client table: each cell as it was seen in this run

class Table:
    """Rows (step, baresip, linphone, XMPP side) printed as TAP comments
    at the end of the run, each cell what this run saw."""

    def __init__(self, t, title):
        self.t = t
        self.title = title
        self.rows = []

    def row(self, step, baresip, linphone, xmpp):
        self.rows.append((step, baresip, linphone, xmpp))

    def print(self):
        self.t.diag("TABLE %s" % self.title)
        self.t.diag("TABLE | step | baresip | linphone | XMPP side |")
        for r in self.rows:
            self.t.diag("TABLE | %s |" % " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in r))


# ---------------------------------------------------------------------------
# reading the wire

def answers(req, final=True):
    """A predicate: a response to request `req` (same Call-ID, CSeq number
    and method; final only, unless final=False)."""
    def pred(m):
        return (req is not None and m.is_response and m.get("call-id") == req.get("call-id")
                and m.cseq_num == req.cseq_num and m.cseq_method == req.method
                and (m.code >= 200 or not final))
    return pred


def top_via_port(m):
    vias = m.header_lines("via")
    if not vias:
        return None
    mm = re.search(r"SIP/2\.0/\w+\s+[^:;\s]+:(\d+)", vias[0])
    return int(mm.group(1)) if mm else None


def pidf_of(m):
    return st.pidf_info(m.body) if m is not None else None


def summary(m, limit=900):
    return m.text(limit) if m is not None else "(nothing)"


def summaries(ms, limit=1500):
    return "\n----\n".join(summary(m, limit) for m in ms) if ms else "(none)"
