# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end test harness for stoxd: real Prosody, a scripted SIP peer,
slixmpp clients, TAP output.  Standard library + slixmpp only; run with
/usr/bin/python3 (Debian's slixmpp is installed for that interpreter only).

A test script looks like:

    import stoxtest as st

    async def main(t):
        env = await st.Env.start(t, users=["bob"])
        st_ = await env.ua.request("OPTIONS", env.stoxd.sip_uri())
        t.ok(st_.code == 200, "OPTIONS → 200")

    st.run(main)

Everything is loopback only, every wait is bounded, every process is
stopped by the PID this harness started, temporary directories are removed
(set STOX_E2E_KEEP=1 to keep them for a post-mortem).
"""

import asyncio
import atexit
import logging
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("STOX_SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
BUILDDIR = os.environ.get("STOX_BUILDDIR") or SRCDIR
STOXD = os.environ.get("STOXD") or os.path.join(BUILDDIR, "src", "stoxd")

SIP_DOMAIN = "sip.test"
XMPP_DOMAIN = "xmpp.test"
COMPONENT = "sip.test"
LOOPBACK = "127.0.0.1"

NS_CLIENT = "jabber:client"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_PING = "urn:xmpp:ping"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_NOT_CONNECTED = "xmpp:prosody.im/protocol/component"

EX_USAGE = 64
EX_CONFIG = 78

# ---------------------------------------------------------------------------
# cleanup registry: every process and directory we create is listed here and
# torn down in run()'s finally / atexit, whatever happened.

_cleanups = []


def _add_cleanup(fn):
    _cleanups.append(fn)
    return fn


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # cleanup must go on, even with stdout gone
            try:
                print("# cleanup error: " + traceback.format_exc().replace("\n", "\n# "), flush=True)
            except Exception:
                pass


atexit.register(_run_cleanups)


def _keep():
    return os.environ.get("STOX_E2E_KEEP") == "1"


def make_tempdir(prefix="stox-e2e-"):
    d = tempfile.mkdtemp(prefix=prefix)

    def rm():
        if _keep():
            print("# kept " + d, flush=True)
        else:
            shutil.rmtree(d, ignore_errors=True)
    _add_cleanup(rm)
    return d


def _kill_pid_proc(proc, grace=5.0):
    """SIGTERM, wait up to `grace` s, then SIGKILL: only this Popen's PID."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


def free_port(tcp=True, udp=True, tries=50):
    """A port free on 127.0.0.1 for TCP and/or UDP (bind :0, then check)."""
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp and not tcp else socket.SOCK_STREAM)
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
        others = []
        try:
            if tcp and udp:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                others.append(u)
                u.bind((LOOPBACK, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
            for o in others:
                o.close()
    raise RuntimeError("no free port")


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return ["(cannot read %s: %s)" % (path, e)]
    return lines[-n:]


def rand_token(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


# ---------------------------------------------------------------------------
# TAP

class BailOut(Exception):
    pass


class TAP:
    """One TAP line per check.  A failed check prints its diagnostics and the
    log lines every registered log source (stoxd, Prosody) wrote since the
    previous check."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.planned = None
        self.sources = []   # [name, path, offset, max_lines]
        self.procs = []     # (name, object with .proc)
        self.started = time.monotonic()
        self.bailed = False

    def plan(self, n):
        self.planned = n
        print("1..%d" % n, flush=True)

    def add_log(self, name, path, max_lines=25):
        self.sources.append([name, path, 0, max_lines])

    def _new_log_lines(self, src):
        name, path, off, _ = src
        try:
            with open(path, "rb") as f:
                f.seek(off)
                data = f.read()
                src[2] = f.tell()
        except OSError:
            return []
        return data.decode("utf-8", "replace").splitlines()

    def _mark_logs(self):
        for src in self.sources:
            self._new_log_lines(src)

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, name, diag=None, todo=None):
        """`todo`: a known defect, not yet fixed (TAP "# TODO"): a failure
        is reported (Automake: XFAIL) but not counted; a pass shows up as
        XPASS, which fails the run, so the TODO gets removed."""
        self.n += 1
        name = str(name).replace("\n", " ").replace("#", "\\#")
        directive = " # TODO %s" % str(todo).replace("\n", " ").replace("#", "\\#") if todo else ""
        if cond:
            print("ok %d - %s%s" % (self.n, name, directive), flush=True)
            self._mark_logs()
            return True
        if not todo:
            self.failed += 1
        print("not ok %d - %s%s" % (self.n, name, directive), flush=True)
        if diag is not None:
            self.diag(diag if isinstance(diag, str) else repr(diag))
        dead = []
        for pname, obj in self.procs:
            p = getattr(obj, "proc", None)
            if p is not None and p.poll() is not None and not getattr(obj, "expect_exit", False):
                dead.append("%s exited unexpectedly: status %r%s" % (
                    pname, p.returncode, " (killed by signal %d)" % -p.returncode if p.returncode < 0 else ""))
                self.diag("!!! " + dead[-1])
        for src in self.sources:
            lines = self._new_log_lines(src)
            for i, line in enumerate(lines):
                if re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:", line):
                    self.diag("--- %s: sanitizer report ---" % src[0])
                    for rl in lines[i:i + 45]:
                        if re.match(r"\s*0x[0-9a-f]+:", rl) or "Shadow byte" in rl:
                            break
                        self.diag("  " + rl)
                    break
            if lines:
                self.diag("--- %s log, new lines (last %d of %d) ---" % (src[0], min(len(lines), src[3]), len(lines)))
                for line in lines[-src[3]:]:
                    self.diag("  " + line)
        if dead:
            # every later check would only wait out its time-out
            raise BailOut("; ".join(dead))
        return False

    def eq(self, got, want, name, diag=None):
        d = "got:  %r\nwant: %r" % (got, want)
        if diag:
            d += "\n" + diag
        return self.ok(got == want, name, d)

    def skip(self, name, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name.replace("#", "\\#"), reason), flush=True)

    def done(self):
        if self.planned is None:
            print("1..%d" % self.n, flush=True)

    def dump_logs(self, n=40):
        for name, path, _, _ in self.sources:
            self.diag("--- %s log tail (%s) ---" % (name, path))
            for line in tail(path, n):
                self.diag("  " + line)


def run(main, timeout=58):
    """Runs `async main(t)` on one asyncio loop, bounded; reports an exception
    or the time-out as a failed check; always cleans up; exit status 0 only
    when every check passed."""
    t = TAP()
    logging.basicConfig(level=logging.CRITICAL if not os.environ.get("STOX_E2E_DEBUG") else logging.DEBUG)

    def on_term(signum, frame):
        raise SystemExit("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)

    async def bounded():
        await asyncio.wait_for(main(t), timeout)

    def sanitizer_checks():
        procs, t.procs = list(t.procs), []  # reporting only, no bail-out
        for pname, obj in procs:
            if isinstance(obj, Stoxd) and obj.proc is not None:
                m = re.search(r"^.*(ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:).*$", obj.log_text(), re.M)
                t.ok(m is None, "%s log holds no sanitizer report" % pname, m.group(0) if m else None)

    try:
        asyncio.run(bounded())
        sanitizer_checks()
    except asyncio.TimeoutError:
        t.procs = []
        t.ok(False, "test script finished within %d s" % timeout, "timed out")
    except BailOut as e:
        t.bailed = True
        t.failed += 1
        print("Bail out! %s" % e, flush=True)
    except BaseException as e:  # noqa: B902 (SystemExit from SIGTERM too)
        if isinstance(e, SystemExit) and e.code in (0, None):
            pass
        else:
            t.procs = []  # no bail-out from inside this report
            t.ok(False, "test script ran without an exception: %s: %s" % (type(e).__name__, e),
                 traceback.format_exc())
    finally:
        try:
            if t.failed and not t.bailed:
                t.dump_logs()
        except Exception:  # e.g. stdout closed: clean up all the same
            pass
        _run_cleanups()
    if not t.bailed:
        t.done()
    sys.exit(0 if t.failed == 0 else 1)


async def wait_until(pred, timeout, interval=0.05):
    """Polls pred() (sync or async) until truthy or timeout; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        await asyncio.sleep(interval)


async def wait_delivery(ua, client, body, timeout=30, to="bob@" + XMPP_DOMAIN):
    """Sends a SIP MESSAGE with `body` to `to` once a second until one is
    answered 202 and reaches `client` (while the component link comes up):
    (the stanza or None after `timeout` s, seconds taken, the SIP answers)."""
    t0 = time.monotonic()
    delivered, codes = None, []
    while time.monotonic() - t0 < timeout and delivered is None:
        m = client.mark()
        tr = await ua.message(to, body, timeout=3)
        codes.append(tr.code)
        if tr.code == 202:
            delivered = await client.expect(lambda s: s.body == body, start=m, timeout=2)
        if delivered is None:
            await asyncio.sleep(1.0)
    return delivered, time.monotonic() - t0, codes


async def port_accepts(port, host=LOOPBACK):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, asyncio.TimeoutError):
        return False
    w.close()
    try:
        await asyncio.wait_for(w.wait_closed(), 1.0)
    except Exception:
        pass
    return True


# ---------------------------------------------------------------------------
# gateway rules (so tests read the expected codes from the shipped file)

def copy_rules(dest):
    """Copies the shipped gateway-rules/*.rules into `dest`; returns it."""
    src = os.path.join(SRCDIR, "gateway-rules")
    os.makedirs(dest, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name.endswith(".rules") and not name.startswith("."):
            shutil.copy(os.path.join(src, name), os.path.join(dest, name))
    return dest


class Rules:
    """Reads the rule directory with the grammar of src/core/rules.h:
         xmpp-to-sip <condition> <code>
         sip-to-xmpp <code|Nxx> <condition>
         error-type <condition> <type>
         message-type <normal|chat>
    Later rows win.  Lookups return (value, where) so a diagnostic can say
    whether the value came from the rule file or from the contract's
    default."""

    def __init__(self, directory=None):
        self.directory = directory or os.path.join(SRCDIR, "gateway-rules")
        self.x2s, self.s2x, self.etype = {}, {}, {}
        self.msgtype = None
        self.files = []
        for name in sorted(os.listdir(self.directory)):
            p = os.path.join(self.directory, name)
            if name.startswith(".") or not os.path.isfile(p) or not name.endswith(".rules"):
                continue
            self.files.append(name)
            with open(p, encoding="utf-8", errors="replace") as f:
                for no, line in enumerate(f, 1):
                    s = line.strip()
                    if not s or s.startswith("#"):
                        continue
                    fld = s.split()
                    where = "%s:%d" % (name, no)
                    if fld[0] == "xmpp-to-sip" and len(fld) >= 3:
                        self.x2s[fld[1]] = (int(fld[2]) if fld[2].isdigit() else fld[2], where)
                    elif fld[0] == "sip-to-xmpp" and len(fld) >= 3:
                        self.s2x[fld[1].lower()] = (fld[2], where)
                    elif fld[0] == "error-type" and len(fld) >= 3:
                        self.etype[fld[1]] = (fld[2], where)
                    elif fld[0] == "message-type" and len(fld) >= 2:
                        self.msgtype = (fld[1], where)

    def xmpp_to_sip(self, condition, default):
        return self.x2s.get(condition, (default, "contract default (no rule row)"))

    def sip_to_xmpp(self, code, default):
        if str(code) in self.s2x:
            return self.s2x[str(code)]
        cls = "%dxx" % (int(code) // 100)
        if cls in self.s2x:
            return self.s2x[cls]
        return (default, "contract default (no rule row)")

    def error_type(self, condition, default):
        return self.etype.get(condition, (default, "contract default (no rule row)"))

    def message_type(self):
        return self.msgtype or ("normal", "contract default (no rule row)")


# ---------------------------------------------------------------------------
# Prosody

# The deployment guide's component block; Prosody below includes it with the
# two values the guide tells operators to replace replaced.
PROSODY_SNIPPET = os.path.join(SRCDIR, "docs", "examples", "prosody-stox.cfg.lua")
SNIPPET_COMPONENT = 'Component "sip.example.com"'
SNIPPET_SECRET = 'component_secret = "contents of /etc/stox/secret"'


def lua_string(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prosody_component_block(text, component, secret):
    """PROSODY_SNIPPET's text for `component` and `secret`; each value to
    replace must occur exactly once outside comments, so the file the guide
    shows and the one the tests load cannot drift apart unseen."""
    out = []
    found = {SNIPPET_COMPONENT: 0, SNIPPET_SECRET: 0}
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("--"):
            for needle in found:
                found[needle] += line.count(needle)
            line = line.replace(SNIPPET_COMPONENT, "Component %s" % lua_string(component))
            line = line.replace(SNIPPET_SECRET, "component_secret = %s" % lua_string(secret))
        out.append(line)
    for needle, count in found.items():
        if count != 1:
            raise RuntimeError("%s: %r appears %d times outside comments (want once)"
                               % (PROSODY_SNIPPET, needle, count))
    return "".join(out)


class Prosody:
    """A private Prosody 0.12 on loopback: own config, data, certs, log, free
    ports; started as a child with -F and stopped by its PID."""

    def __init__(self, t=None, secret=None, host=XMPP_DOMAIN, component=COMPONENT, extra=""):
        self.dir = make_tempdir("stox-prosody-")
        self.host = host
        self.component = component
        self.secret = secret if secret is not None else "s3cret-" + rand_token(6)
        self.c2s_port = free_port(udp=False)
        self.component_port = free_port(udp=False)
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        self.log = os.path.join(self.dir, "prosody.log")
        self.proc = None
        self.t = t
        for d in ("data", "certs"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        root = 'run_as_root = true\n' if os.geteuid() == 0 else ''
        self.component_config = os.path.join(self.dir, "stox.cfg.lua")
        with open(PROSODY_SNIPPET, encoding="utf-8") as f:
            snippet = f.read()
        with open(self.component_config, "w", encoding="utf-8") as f:
            f.write(prosody_component_block(snippet, component, self.secret))
        with open(self.config, "w") as f:
            f.write(f'''-- private test instance (stoxtest.py)
{root}daemonize = false
pidfile = "{self.dir}/prosody.pid"
data_path = "{self.dir}/data"
certificates = "{self.dir}/certs"
log = {{ debug = "{self.log}" }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.c2s_port} }}
component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
s2s_interfaces = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
modules_enabled = {{ "roster", "saslauth", "disco", "ping" }}
modules_disabled = {{ "offline", "s2s", "tls" }}
{extra}
VirtualHost "{host}"

-- the deployment guide's component block, as an operator would include it
Include "{self.component_config}"
''')
        _add_cleanup(self._cleanup)
        self.expect_exit = False
        if t is not None:
            t.add_log("prosody", self.log, max_lines=10)
            t.procs.append(("prosody", self))

    def _cleanup(self):
        _kill_pid_proc(self.proc)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    async def start(self, timeout=15):
        assert not self.running
        self.expect_exit = False
        self._out = open(os.path.join(self.dir, "prosody.stdout"), "ab")
        self.proc = subprocess.Popen(["prosody", "--config", self.config, "-F"],
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        self._out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if await port_accepts(self.c2s_port) and await port_accepts(self.component_port):
                return
            await asyncio.sleep(0.05)
        out = "\n".join(tail(os.path.join(self.dir, "prosody.stdout"), 20) + tail(self.log, 20))
        _kill_pid_proc(self.proc)
        raise RuntimeError("prosody did not open c2s %d / component %d within %ss:\n%s"
                           % (self.c2s_port, self.component_port, timeout, out))

    async def stop(self, grace=5.0):
        """SIGTERM by PID, wait (bounded), SIGKILL after `grace` s."""
        self.expect_exit = True
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            await wait_until(lambda: self.proc.poll() is not None, 5)
        return self.proc.returncode

    def log_mark(self):
        """The log's current size: start= for component_stanzas()."""
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def component_stanzas(self, start=0, name=None):
        """What the component (stoxd) sent, as Prosody's debug log shows it
        ("Received[component]: <top tag>"): [(element name, {attr: value})]
        from log offset `start` on.  Needed where RFC 6121 makes the server
        drop a stanza before any client could see it."""
        try:
            with open(self.log, "rb") as f:
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        out = []
        for m in re.finditer(r"Received\[component\]: <([\w:-]+)((?:\s+[\w:-]+=(?:'[^']*'|\"[^\"]*\"))*)\s*/?>",
                             text):
            attrs = {k: v[1:-1] for k, v in re.findall(r"([\w:-]+)=('[^']*'|\"[^\"]*\")", m.group(2))}
            if name is None or m.group(1) == name:
                out.append((m.group(1), attrs))
        return out

    def register(self, user, password):
        r = subprocess.run(["prosodyctl", "--config", self.config, "register", user, self.host, password],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("prosodyctl register %s failed (%d): %s"
                               % (user, r.returncode, r.stdout.decode(errors="replace")))

    async def register_async(self, user, password):
        proc = await asyncio.create_subprocess_exec(
            "prosodyctl", "--config", self.config, "register", user, self.host, password,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.dir)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 20)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError("prosodyctl register %s timed out" % user)
        if proc.returncode != 0:
            raise RuntimeError("prosodyctl register %s failed (%d): %s"
                               % (user, proc.returncode, out.decode(errors="replace")))


# ---------------------------------------------------------------------------
# stoxd

class Stoxd:
    """stoxd with a generated stox.conf, its stderr in a log file, and an
    optional NOTIFY_SOCKET owned by the harness."""

    def __init__(self, t=None, prosody=None, proxy_port=None, component_port=None, secret=None,
                 bounce_wait=400, max_message_size=1300, rules=None, notify=True,
                 overrides=None, extra="", name="stoxd", sip_port=None, log_level="debug",
                 state_dir=None):
        self.t = t
        self.dir = make_tempdir("stox-stoxd-")
        self.name = name
        self.sip_port = sip_port or free_port(tcp=True, udp=True)
        self.config = os.path.join(self.dir, "stox.conf")
        self.log = os.path.join(self.dir, "stoxd.log")
        # state_dir: another instance's, for a restart that keeps the state
        self.state_dir = state_dir or os.path.join(self.dir, "state")
        os.makedirs(self.state_dir, exist_ok=True)
        # A private copy of the shipped *.rules: the source directory also
        # holds local.mk, which the contract's "every regular file not
        # starting with '.'" would read as a rule file; and tests add files.
        self.rules = rules or copy_rules(os.path.join(self.dir, "rules.d"))
        self.proc = None
        self.log_level = log_level
        self.notify_path = os.path.join(self.dir, "notify.sock") if notify else None
        self.notify_sock = None
        self.notifications = []   # (monotonic time, text)
        self._notify_task = None
        self.started_at = None
        cport = component_port or (prosody.component_port if prosody else free_port(udp=False))
        csecret = secret if secret is not None else (prosody.secret if prosody else "s3cret")
        self.values = {
            ("sip", "domain"): SIP_DOMAIN,
            ("sip", "listen"): "sip:%s:%d" % (LOOPBACK, self.sip_port),
            ("sip", "outbound-proxy"): ("sip:%s:%d;lr" % (LOOPBACK, proxy_port)) if proxy_port else None,
            ("sip", "max-message-size"): str(max_message_size),
            ("xmpp", "component"): COMPONENT,
            ("xmpp", "server"): LOOPBACK,
            ("xmpp", "port"): str(cport),
            ("xmpp", "secret"): csecret,
            ("gateway", "rules"): self.rules,
            ("gateway", "bounce-wait"): str(bounce_wait),
            ("gateway", "xmpp-domains"): XMPP_DOMAIN,
            ("gateway", "state-dir"): self.state_dir,
        }
        for k, v in (overrides or {}).items():
            self.values[k] = v
        self.extra = extra
        # a command stoxd runs under (e.g. setpriv to another user, as a
        # systemd unit would) and extra environment, for the package tier
        self.prefix = []
        self.env = {}
        self.write_config()
        _add_cleanup(self._cleanup)
        self.expect_exit = False
        if t is not None:
            t.add_log(name, self.log)
            t.procs.append((name, self))

    @property
    def bounce_wait(self):
        return int(self.values[("gateway", "bounce-wait")])

    def write_config(self, path=None):
        groups = {}
        for (g, k), v in self.values.items():
            groups.setdefault(g, [])
            if v is not None:
                groups[g].append("%s = %s" % (k, v))
        text = "# generated by stoxtest.py\n"
        for g in ("sip", "xmpp", "gateway"):
            if g in groups:
                text += "\n[%s]\n" % g + "".join(line + "\n" for line in groups[g])
        for g in groups:
            if g not in ("sip", "xmpp", "gateway"):
                text += "\n[%s]\n" % g + "".join(line + "\n" for line in groups[g])
        text += self.extra
        with open(path or self.config, "w") as f:
            f.write(text)
        # It holds the component secret: private, as stox.conf(5) asks
        # (stoxd warns about a world-readable one).
        os.chmod(path or self.config, 0o600)
        return path or self.config

    def sip_uri(self, user=None, domain=LOOPBACK):
        return "sip:%s%s:%d" % (user + "@" if user else "", domain, self.sip_port)

    def _cleanup(self):
        _kill_pid_proc(self.proc)
        if self.notify_sock:
            self.notify_sock.close()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, args=None):
        assert not self.running
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        if self.notify_path:
            if self.notify_sock is None:
                self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self.notify_sock.bind(self.notify_path)
                self.notify_sock.setblocking(False)
                loop = asyncio.get_running_loop()
                loop.add_reader(self.notify_sock.fileno(), self._on_notify)
            env["NOTIFY_SOCKET"] = self.notify_path
        self.notifications = []
        self.expect_exit = False
        logf = open(self.log, "ab")
        logf.write(("=== %s start %s\n" % (self.name, time.strftime("%H:%M:%S"))).encode())
        logf.flush()
        env.update(self.env)
        argv = list(self.prefix) + [STOXD, "-c", self.config, "--log-level=" + self.log_level] + list(args or [])
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.dir)
        logf.close()
        return self

    def _on_notify(self):
        for _ in range(100):
            try:
                data = self.notify_sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    self.notifications.append((time.monotonic(), line))

    def notified(self, prefix):
        """[(seconds since start, line)] for lines starting with prefix."""
        return [(ts - self.started_at, line) for ts, line in self.notifications if line.startswith(prefix)]

    async def wait_notify(self, line_prefix, timeout):
        await wait_until(lambda: self.notified(line_prefix) or not self.running, timeout)
        return self.notified(line_prefix)

    async def wait_ready(self, timeout=15, ua=None):
        """READY=1 on the notify socket, or without one the first OPTIONS 200.
        Raises (with the log tail) when stoxd dies or never gets ready."""
        if self.notify_path:
            got = await self.wait_notify("READY=1", timeout)
            if got:
                return got[0][0]
        elif ua is not None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.running:
                tr = await ua.request("OPTIONS", self.sip_uri(), timeout=1.0)
                if tr.code == 200:
                    return time.monotonic() - self.started_at
        why = "exited with %r" % self.proc.returncode if not self.running else "no READY=1 within %ss" % timeout
        raise RuntimeError("stoxd not ready: %s\n%s" % (why, "\n".join(tail(self.log, 40))))

    async def stop(self, sig=signal.SIGTERM, timeout=5.0, kill_after=8.0):
        """Sends `sig`; returns (exit code or None if still running after
        `kill_after` s and killed, seconds until exit)."""
        if not self.running:
            return (self.proc.returncode if self.proc else None, 0.0)
        t0 = time.monotonic()
        self.expect_exit = True
        self.proc.send_signal(sig)
        await wait_until(lambda: self.proc.poll() is not None, kill_after)
        elapsed = time.monotonic() - t0
        if self.proc.poll() is None:
            self.proc.kill()
            await wait_until(lambda: self.proc.poll() is not None, 5)
            return (None, elapsed)
        return (self.proc.returncode, elapsed)

    def signal(self, sig):
        if self.running:
            self.proc.send_signal(sig)

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(tail(self.log, n))


def run_stoxd_sync(args, timeout=10, env=None):
    """Runs stoxd to completion (CLI tests): (exit code, stdout+stderr)."""
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    if env:
        e.update(env)
    try:
        r = subprocess.run([STOXD] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, env=e)
    except subprocess.TimeoutExpired as ex:
        return (None, (ex.output or b"").decode("utf-8", "replace") + "\n(timed out after %ss)" % timeout)
    return (r.returncode, r.stdout.decode("utf-8", "replace"))


async def run_stoxd(args, timeout=10, env=None):
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    if env:
        e.update(env)
    proc = await asyncio.create_subprocess_exec(STOXD, *args, stdin=subprocess.DEVNULL,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return (None, out.decode("utf-8", "replace") + "\n(timed out after %ss, killed)" % timeout)
    return (proc.returncode, out.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------
# SIP

COMPACT = {"f": "from", "t": "to", "i": "call-id", "l": "content-length", "c": "content-type",
           "v": "via", "m": "contact", "s": "subject", "k": "supported", "e": "content-encoding",
           "o": "event", "r": "refer-to", "u": "allow-events", "x": "session-expires"}


class SipMsg:
    """A parsed SIP request or response.  Header names are looked up
    case-insensitively with compact forms expanded; the body is raw bytes."""

    def __init__(self, raw, transport="udp", source=None):
        self.raw = raw
        self.size = len(raw)
        self.transport = transport
        self.source = source
        self.received_at = time.monotonic()
        self.response = None   # a received request: the SipUA's answer (SipMsg)
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = raw.partition(b"\n\n")
        self.start_raw = head.split(b"\n")[0].rstrip(b"\r")
        lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
        self.start = lines[0]
        self.headers = []  # [(canonical lower name, name as sent, value)]
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:  # folding
                n, orig, v = self.headers[-1]
                self.headers[-1] = (n, orig, v + " " + line.strip())
                continue
            if ":" not in line:
                continue
            name, _, value = line.partition(":")
            orig = name.strip()
            low = orig.lower()
            self.headers.append((COMPACT.get(low, low), orig, value.strip()))
        cl = self.get("content-length")
        if cl is not None and cl.strip().isdigit():
            body = body[:int(cl)]
        self.body = body
        parts = self.start.split(" ", 2)
        if self.start.startswith("SIP/2.0"):
            self.is_response = True
            self.code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.reason = parts[2] if len(parts) > 2 else ""
            self.method = None
            self.ruri = None
        else:
            self.is_response = False
            self.method = parts[0]
            self.ruri = parts[1] if len(parts) > 1 else ""
            self.code = None
        cseq = (self.get("cseq") or "").split()
        self.cseq_num = int(cseq[0]) if cseq and cseq[0].isdigit() else None
        self.cseq_method = cseq[1] if len(cseq) > 1 else None

    def reason_ok(self):
        """RFC 3261 §25.1: Reason-Phrase is UTF-8 text (printable, no
        control characters); a response from a sane stack has one."""
        parts = self.start_raw.split(b" ", 2)
        if len(parts) < 3 or not parts[2].strip():
            return False
        try:
            text = parts[2].decode("utf-8")
        except UnicodeDecodeError:
            return False
        return all(ch.isprintable() for ch in text)

    def get(self, name, default=None):
        name = name.lower()
        name = COMPACT.get(name, name)
        for n, _, v in self.headers:
            if n == name:
                return v
        return default

    def get_all(self, name):
        """Every value, comma-separated lists split (not for Date-like headers)."""
        name = name.lower()
        name = COMPACT.get(name, name)
        out = []
        for n, _, v in self.headers:
            if n == name:
                out.extend(split_commas(v))
        return out

    def header_lines(self, name):
        name = name.lower()
        name = COMPACT.get(name, name)
        return [v for n, _, v in self.headers if n == name]

    @property
    def branch(self):
        via = self.header_lines("via")
        if not via:
            return None
        m = re.search(r";\s*branch\s*=\s*([^;,\s]+)", via[0], re.I)
        return m.group(1) if m else None

    def uri_of(self, name):
        v = self.get(name)
        return name_addr_uri(v) if v else None

    def tag_of(self, name):
        v = self.get(name) or ""
        m = re.search(r";\s*tag\s*=\s*([^;,\s]+)", v.split(">")[-1], re.I)
        return m.group(1) if m else None

    def content_type(self):
        """(type/subtype lower case, {param: value})."""
        v = self.get("content-type")
        if v is None:
            return (None, {})
        parts = [p.strip() for p in v.split(";")]
        params = {}
        for p in parts[1:]:
            k, _, val = p.partition("=")
            params[k.strip().lower()] = val.strip().strip('"')
        return (parts[0].lower(), params)

    def __repr__(self):
        return "<SipMsg %s (%d bytes)>" % (self.start, self.size)

    def text(self, limit=1500):
        s = self.raw.decode("utf-8", "replace")
        return s if len(s) <= limit else s[:limit] + "…"


def split_commas(v):
    out, cur, depth, q = [], "", 0, False
    for ch in v:
        if ch == '"':
            q = not q
        elif ch == "<" and not q:
            depth += 1
        elif ch == ">" and not q:
            depth -= 1
        if ch == "," and not q and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def name_addr_uri(v):
    """The URI of a name-addr / addr-spec header value (params outside <> dropped)."""
    v = v.strip()
    if "<" in v:
        return v[v.index("<") + 1:v.index(">")] if ">" in v else v[v.index("<") + 1:]
    return v.split(";")[0].strip()


def parse_sip_uri(uri):
    """{'scheme','user' (percent-decoded),'user_raw','host','port','params':{}}."""
    if uri is None:
        return None
    m = re.match(r"^(sips?):(?:([^@]*)@)?([^;?]+)(.*)$", uri.strip(), re.I)
    if not m:
        return None
    scheme, user_raw, hostport, rest = m.groups()
    host, _, port = hostport.partition(":")
    params = {}
    for p in rest.split("?")[0].split(";")[1:]:
        k, _, val = p.partition("=")
        params[k.lower()] = val
    return {"scheme": scheme.lower(), "user_raw": user_raw,
            "user": urllib.parse.unquote(user_raw) if user_raw is not None else None,
            "host": host.lower(), "port": int(port) if port.isdigit() else None, "params": params}


# A SipUA responder returns DEFER to answer a request later with
# SipUA.respond() (e.g. a NOTIFY whose 200 is held back).
DEFER = object()


class Transaction:
    def __init__(self, method, branch):
        self.method = method
        self.branch = branch
        self.sent = 0
        self.started = time.monotonic()
        self.provisionals = []
        self.final = None
        self.done = asyncio.get_running_loop().create_future()
        self.request = None
        self.error = None

    @property
    def code(self):
        return self.final.code if self.final else None

    @property
    def elapsed(self):
        return (self.final.received_at - self.started) if self.final else None

    def __repr__(self):
        return "<%s %s: %s after %s sends%s>" % (self.method, self.branch,
                                                 self.final.start if self.final else "no final response",
                                                 self.sent, "; " + self.error if self.error else "")


class _UdpProto(asyncio.DatagramProtocol):
    def __init__(self, ua):
        self.ua = ua

    def datagram_received(self, data, addr):
        self.ua._on_data(data, "udp", addr, None)


class SipUA:
    """A scripted SIP peer on 127.0.0.1 (UDP and TCP on one port number).

    As UAC: request() sends a request to `peer`, retransmits over UDP at
    500 ms doubling to 4 s (RFC 3261 timer E) until a final response, and
    returns the Transaction.  As UAS (the gateway's outbound proxy): every
    incoming request is recorded in `requests` and answered with
    `respond(req) -> (code, reason, [(name, value)])` (default 200 OK, or
    `default_code`).  Retransmissions get the same answer and are not
    recorded twice."""

    def __init__(self, t=None, port=None):
        self.t = t
        self.port = port
        self.peer = None
        self.requests = []      # unique requests received (SipMsg)
        self.all_requests = []  # including retransmissions
        self._req_waiters = []
        self._answered = {}     # (branch, method, call-id) -> response bytes
        self._txns = {}
        self.responder = None
        self.default_code = 200
        self.default_reason = None
        self._tcp_conns = {}
        self._cseq = random.randint(1, 1000)
        self.received_bytes = []
        self.errors = []
        self._deferred = {}     # key -> (transport, addr, writer) of requests answered later

    async def start(self):
        loop = asyncio.get_running_loop()
        for _ in range(30):
            port = self.port or free_port(tcp=True, udp=True)
            try:
                self.udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProto(self),
                                                                 local_addr=(LOOPBACK, port))
            except OSError:
                if self.port:
                    raise
                continue
            try:
                self.tcp_server = await asyncio.start_server(self._on_tcp_conn, LOOPBACK, port,
                                                             reuse_address=True)
            except OSError:
                self.udp.close()
                if self.port:
                    raise
                continue
            self.port = port
            _add_cleanup(self.close)
            return self
        raise RuntimeError("SipUA: no free port")

    def close(self):
        try:
            self.udp.close()
        except Exception:
            pass
        try:
            self.tcp_server.close()
        except Exception:
            pass
        for w in list(self._tcp_conns.values()):
            try:
                w.close()
            except Exception:
                pass

    # -- transport -------------------------------------------------------

    async def _on_tcp_conn(self, reader, writer):
        addr = writer.get_extra_info("peername")
        self._tcp_conns[addr] = writer
        await self._tcp_read_loop(reader, writer, addr)

    async def _tcp_read_loop(self, reader, writer, addr):
        buf = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    buf = buf.lstrip(b"\r\n")
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head = buf[:end].decode("utf-8", "replace")
                    m = re.search(r"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.I | re.M)
                    clen = int(m.group(1)) if m else 0
                    total = end + 4 + clen
                    if len(buf) < total:
                        break
                    msg, buf = buf[:total], buf[total:]
                    self._on_data(msg, "tcp", addr, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tcp_conns.pop(addr, None)
            try:
                writer.close()
            except Exception:
                pass

    def _on_data(self, data, transport, addr, writer):
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            msg = SipMsg(data, transport, addr)
        except Exception as e:
            self.errors.append("unparsable from %s: %r (%s)" % (addr, data[:200], e))
            return
        if msg.is_response:
            tr = self._txns.get((msg.branch, msg.cseq_method))
            if tr is None:
                return
            if msg.code < 200:
                tr.provisionals.append(msg)
            elif tr.final is None:
                tr.final = msg
                if not tr.done.done():
                    tr.done.set_result(msg)
                if tr.method == "INVITE":
                    self._send_ack(tr, msg)
            return
        self.all_requests.append(msg)
        key = (msg.branch, msg.method, msg.get("call-id"))
        if msg.method == "ACK":
            self.requests.append(msg)
            self._wake()
            return
        if key in self._answered:  # retransmission
            self._send(self._answered[key], transport, addr, writer)
            return
        if key in self._deferred:  # retransmission of a request answered later
            return
        self.requests.append(msg)
        code, reason, extra = self.default_code, self.default_reason, []
        if self.responder:
            r = self.responder(msg)
            if r is DEFER:
                # answered later with respond(); retransmissions are not
                # recorded again meanwhile
                self._deferred[key] = (transport, addr, writer)
                self._wake()
                return
            if r is None:
                code = None  # stay silent (the peer will retransmit)
            elif isinstance(r, tuple):
                r = list(r) + [None, []][len(r) - 1:]
                code, reason, extra = r[0], r[1], r[2] or []
            else:
                code, reason, extra = r, None, []
        if code:
            resp = self.build_response(msg, code, reason, extra or [])
            self._answered[key] = resp
            msg.response = SipMsg(resp, transport)
            self._send(resp, transport, addr, writer)
        self._wake()

    def respond(self, req, code, reason=None, extra=()):
        """Answers a request the responder deferred (returned DEFER).
        Returns the response sent (SipMsg), also kept as req.response."""
        key = (req.branch, req.method, req.get("call-id"))
        if key in self._answered:
            return getattr(req, "response", None)
        transport, addr, writer = self._deferred.pop(key, (req.transport, req.source, None))
        if transport == "tcp" and writer is None:
            writer = self._tcp_conns.get(addr)
        resp = self.build_response(req, code, reason, extra or [])
        self._answered[key] = resp
        req.response = SipMsg(resp, transport)
        self._send(resp, transport, addr, writer)
        return req.response

    def pending(self):
        """Requests deferred and not answered yet."""
        keys = set(self._deferred)
        return [r for r in self.requests if (r.branch, r.method, r.get("call-id")) in keys]

    def _wake(self):
        for fut in self._req_waiters:
            if not fut.done():
                fut.set_result(None)
        self._req_waiters = []

    def _send(self, data, transport, addr, writer):
        if transport == "udp":
            self.udp.sendto(data, addr)
        else:
            writer.write(data)

    # -- UAS -------------------------------------------------------------

    def build_response(self, req, code, reason=None, extra=()):
        """`extra`: (name, value) header lines; the pseudo-headers "body"
        (the body) and "to-tag" (the To tag to add when the request's To
        has none; default random) are not sent as headers."""
        reason = reason or REASONS.get(code, "Status")
        out = ["SIP/2.0 %d %s" % (code, reason)]
        for v in req.header_lines("via"):
            out.append("Via: " + v)
        for v in req.header_lines("record-route"):  # RFC 3261 §12.1.1
            if 100 < code < 300:
                out.append("Record-Route: " + v)
        to = req.get("to") or ""
        tag = next((v for n, v in extra if n.lower() == "to-tag"), None)
        if code > 100 and not re.search(r";\s*tag\s*=", to.split(">")[-1], re.I):
            to += ";tag=" + (tag or rand_token(8))
        out += ["From: " + (req.get("from") or ""), "To: " + to,
                "Call-ID: " + (req.get("call-id") or ""), "CSeq: " + (req.get("cseq") or "")]
        body = b""
        for name, value in extra:
            if name.lower() == "body":
                body = value if isinstance(value, bytes) else value.encode()
            elif name.lower() == "to-tag":
                pass
            else:
                out.append("%s: %s" % (name, value))
        out.append("Content-Length: %d" % len(body))
        return ("\r\n".join(out) + "\r\n\r\n").encode() + body

    async def wait_request(self, method=None, pred=None, timeout=5.0, start=0):
        """The first recorded request (index >= start) matching method/pred,
        or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for r in self.requests[start:]:
                if (method is None or r.method == method) and (pred is None or pred(r)):
                    return r
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            fut = asyncio.get_running_loop().create_future()
            self._req_waiters.append(fut)
            try:
                await asyncio.wait_for(fut, left)
            except asyncio.TimeoutError:
                pass

    def mark(self):
        """Index for wait_request(start=…) / requests_since()."""
        return len(self.requests)

    def requests_since(self, mark, method=None):
        return [r for r in self.requests[mark:] if method is None or r.method == method]

    # -- UAC -------------------------------------------------------------

    def build_request(self, method, ruri, transport="udp", from_uri="sip:alice@" + SIP_DOMAIN, to_uri=None,
                      body=b"", content_type=None, headers=(), call_id=None, cseq=None, branch=None,
                      from_tag=None, omit=(), max_forwards=70):
        if isinstance(body, str):
            body = body.encode("utf-8")
        branch = branch or "z9hG4bK" + rand_token(16)
        self._cseq += 1
        cseq = cseq or self._cseq
        call_id = call_id or rand_token(16) + "@127.0.0.1"
        hdrs = [
            ("Via", "SIP/2.0/%s %s:%d;branch=%s;rport" % (transport.upper(), LOOPBACK, self.port, branch)),
            ("Max-Forwards", str(max_forwards)),
            ("From", "<%s>;tag=%s" % (from_uri, from_tag or rand_token(8))),
            ("To", "<%s>" % (to_uri or ruri)),
            ("Call-ID", call_id),
            ("CSeq", "%d %s" % (cseq, method)),
        ]
        if method in ("INVITE", "SUBSCRIBE"):
            hdrs.append(("Contact", "<sip:alice@%s:%d;transport=%s>" % (LOOPBACK, self.port, transport)))
        if content_type:
            hdrs.append(("Content-Type", content_type))
        omit = {o.lower() for o in omit}   # default headers to leave out
        hdrs = [(n, v) for n, v in hdrs if n.lower() not in omit] + list(headers)
        if "content-length" not in omit:
            hdrs.append(("Content-Length", str(len(body))))
        text = "%s %s SIP/2.0\r\n" % (method, ruri)
        text += "".join("%s: %s\r\n" % (n, v) for n, v in hdrs)
        return (text + "\r\n").encode("utf-8") + body, branch, call_id

    async def _tcp_connection(self, dest):
        w = self._tcp_conns.get(("out",) + tuple(dest))
        if w is not None and not w.is_closing():
            return w
        reader, writer = await asyncio.wait_for(asyncio.open_connection(dest[0], dest[1]), 3)
        key = ("out",) + tuple(dest)
        self._tcp_conns[key] = writer
        asyncio.ensure_future(self._tcp_read_loop(reader, writer, key))
        return writer

    async def request(self, method, ruri, transport="udp", dest=None, timeout=5.0, raw=None, **kw):
        """Sends a request and waits (bounded) for its final response.
        `raw`: bytes to send verbatim (must still carry a Via branch and CSeq
        for matching).  Returns the Transaction (tr.code None on time-out)."""
        dest = dest or self.peer
        if raw is None:
            data, branch, call_id = self.build_request(method, ruri, transport=transport, **kw)
        else:
            data = raw
            branch = SipMsg(raw).branch
        tr = Transaction(method, branch)
        tr.request = SipMsg(data, transport)
        self._txns[(branch, method)] = tr
        writer = None
        if transport == "tcp":
            try:
                writer = await self._tcp_connection(dest)
            except (OSError, asyncio.TimeoutError) as e:
                tr.error = "TCP connect to %s:%d failed: %s" % (dest[0], dest[1], e)
                return tr
            writer.write(data)
            tr.sent = 1
        deadline = tr.started + timeout
        interval = 0.5
        next_send = time.monotonic()
        while tr.final is None:
            now = time.monotonic()
            if now >= deadline:
                break
            if transport == "udp" and now >= next_send:
                if not tr.provisionals or tr.sent == 0 or interval >= 4.0:
                    self.udp.sendto(data, tuple(dest))
                    tr.sent += 1
                next_send = now + interval
                interval = min(interval * 2, 4.0)
            try:
                await asyncio.wait_for(asyncio.shield(tr.done),
                                       max(0.001, min(deadline, next_send if transport == "udp" else deadline) - now))
            except asyncio.TimeoutError:
                pass
        return tr

    def _send_ack(self, tr, resp):
        req = tr.request
        if req is None or resp.code < 200:
            return
        lines = ["ACK %s SIP/2.0" % req.ruri, "Via: " + req.header_lines("via")[0], "Max-Forwards: 70",
                 "From: " + req.get("from"), "To: " + resp.get("to"), "Call-ID: " + req.get("call-id"),
                 "CSeq: %d ACK" % req.cseq_num, "Content-Length: 0"]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if req.transport == "udp":
            self.udp.sendto(data, tuple(self.peer))
        else:
            w = self._tcp_conns.get(("out",) + tuple(self.peer))
            if w:
                w.write(data)

    async def message(self, to_user_host, body, content_type="text/plain;charset=UTF-8", **kw):
        ruri = to_user_host if to_user_host.startswith(("sip:", "sips:")) else "sip:" + to_user_host
        return await self.request("MESSAGE", ruri, body=body, content_type=content_type, **kw)


REASONS = {100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 415: "Unsupported Media Type",
           480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 486: "Busy Here",
           488: "Not Acceptable Here", 500: "Server Internal Error", 503: "Service Unavailable",
           603: "Decline", 604: "Does Not Exist Anywhere", 406: "Not Acceptable", 423: "Interval Too Brief",
           489: "Bad Event"}


def asserted(uri):
    """The P-Asserted-Identity header a trusted proxy adds for a user it
    has authenticated (RFC 3325 §9.1): the scripted UA, on a trusted
    loopback address, plays that proxy.  stoxd sends presence only to
    identities a trusted peer vouches for (stox.conf(5), trust-from)."""
    return ("P-Asserted-Identity", "<%s>" % uri)


def header_param(value, name):
    """A ;name=value parameter of a header value (outside <>), or None."""
    if value is None:
        return None
    m = re.search(r";\s*%s\s*=\s*\"?([^;,\s\"]+)" % re.escape(name), value.split(">")[-1], re.I)
    return m.group(1) if m else None


def with_tag(value, tag):
    """A From/To value with `;tag=` (name-addr form kept)."""
    v = value.strip()
    if not v.startswith("<") and "<" not in v:
        v = "<%s>" % v
    return "%s;tag=%s" % (v, tag) if tag else v


class Dialog:
    """One side of a SIP dialog (RFC 3261 §12) that a SipUA holds, as UAC
    (from a request it sent and the 2xx it got) or as UAS (from a request
    it received and answered).  request() sends in-dialog requests: the
    Request-URI is the remote target, Route the route set, CSeq rising."""

    def __init__(self, ua, call_id, local, local_tag, remote, remote_tag, remote_target, route_set,
                 local_cseq, contact, transport="udp", dest=None):
        self.ua = ua
        self.call_id = call_id
        self.local, self.local_tag = local, local_tag
        self.remote, self.remote_tag = remote, remote_tag
        self.remote_target = remote_target
        self.route_set = list(route_set)
        self.local_cseq = local_cseq
        self.remote_cseq = None
        self.contact = contact
        self.transport = transport
        self.dest = dest

    @staticmethod
    def _strip_tag(value):
        return re.sub(r";\s*tag\s*=\s*[^;,\s]+", "", value or "")

    @classmethod
    def uac(cls, ua, tr, contact=None):
        """From a Transaction that got a 2xx (or 1xx with a To tag)."""
        req, resp = tr.request, tr.final
        return cls(ua, req.get("call-id"), cls._strip_tag(req.get("from")), req.tag_of("from"),
                   cls._strip_tag(resp.get("to")), resp.tag_of("to"),
                   name_addr_uri(resp.get("contact") or "<%s>" % req.ruri),
                   list(reversed(resp.get_all("record-route"))), req.cseq_num,
                   contact or req.get("contact"), transport=req.transport)

    @classmethod
    def uas(cls, ua, req, contact, cseq=None):
        """From a request the SipUA answered (req.response holds the To tag)."""
        resp = req.response
        d = cls(ua, req.get("call-id"), cls._strip_tag(req.get("to")), resp.tag_of("to") if resp else None,
                cls._strip_tag(req.get("from")), req.tag_of("from"), name_addr_uri(req.get("contact") or ""),
                req.get_all("record-route"), cseq if cseq is not None else random.randint(1, 1000), contact,
                transport=req.transport)
        d.remote_cseq = req.cseq_num
        return d

    def matches(self, msg):
        """Is `msg` (a request received) inside this dialog?"""
        return (msg.get("call-id") == self.call_id and msg.tag_of("to") == self.local_tag
                and msg.tag_of("from") == self.remote_tag)

    def build(self, method, headers=(), body=b"", content_type=None):
        self.local_cseq += 1
        hdrs = [("To", with_tag(self.remote, self.remote_tag))]
        if self.route_set:
            hdrs.append(("Route", ", ".join(self.route_set)))
        if self.contact and method in ("SUBSCRIBE", "NOTIFY", "INVITE", "REFER"):
            hdrs.append(("Contact", self.contact))
        return self.ua.build_request(method, self.remote_target, transport=self.transport,
                                     from_uri=name_addr_uri(self.local), from_tag=self.local_tag,
                                     call_id=self.call_id, cseq=self.local_cseq, body=body,
                                     content_type=content_type, omit=("to", "contact"),
                                     headers=hdrs + list(headers))

    async def request(self, method, headers=(), body=b"", content_type=None, timeout=5.0, dest=None):
        """Sends an in-dialog request to `dest` (default: where the dialog's
        requests came from, else the SipUA's peer); returns the Transaction."""
        data, _, _ = self.build(method, headers, body, content_type)
        return await self.ua.request(method, self.remote_target, transport=self.transport,
                                     dest=dest or self.dest or self.next_hop() or self.ua.peer,
                                     timeout=timeout, raw=data)

    def next_hop(self):
        """(host, port) of the first Route, else of the remote target, when
        it is an IPv4 literal (loopback tests); None otherwise."""
        u = parse_sip_uri(name_addr_uri(self.route_set[0]) if self.route_set else self.remote_target)
        if u is None or not re.match(r"^\d+\.\d+\.\d+\.\d+$", u["host"]):
            return None
        return (u["host"], u["port"] or 5060)

    async def notify(self, state, body=None, content_type="application/pidf+xml", event="presence",
                     timeout=5.0, headers=()):
        """NOTIFY with `Subscription-State: state` (e.g. "active;expires=120")."""
        hdrs = [("Event", event), ("Subscription-State", state)] + list(headers)
        if body is None:
            return await self.request("NOTIFY", hdrs, timeout=timeout)
        return await self.request("NOTIFY", hdrs, body=body, content_type=content_type, timeout=timeout)

    def __repr__(self):
        return "<Dialog %s local %s;tag=%s remote %s;tag=%s target %s>" % (
            self.call_id, self.local, self.local_tag, self.remote, self.remote_tag, self.remote_target)


# ---------------------------------------------------------------------------
# PIDF (RFC 3863) with RPID (RFC 4480) as the presence tests read it

NS_PIDF = "urn:ietf:params:xml:ns:pidf"
NS_RPID = "urn:ietf:params:xml:ns:pidf:rpid"
PIDF_CT = "application/pidf+xml"


def stored_watch_dialogs(state_dir):
    """(WATCH records, SIP dialog states) stoxd has committed to
    state-dir/stox.db; read-only, which WAL lets in beside the writer.
    (0, 0) while the file or its tables are not there yet."""
    import sqlite3
    path = os.path.join(state_dir, "stox.db")
    if not os.path.exists(path):
        return (0, 0)
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=1.0)
        try:
            watches = db.execute("SELECT count(*) FROM records WHERE kind = 2").fetchone()[0]
            dialogs = db.execute("SELECT count(*) FROM sip_dialogs").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return (0, 0)
    return (watches, dialogs)


async def wait_watch_stored(state_dir, n, timeout=5.0):
    """Until both halves of `n` watcher dialogs are on disk (what a crash
    leaves); False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        w, d = stored_watch_dialogs(state_dir)
        if w >= n and d >= n:
            return True
        await asyncio.sleep(0.05)
    return False


def pidf_doc(entity, basic="open", note=None, tuple_id=None, show=None, activity=None, lang=None):
    """A PIDF document (optionally with <show xmlns='jabber:client'> in the
    status and an RPID activity on a dm:person)."""
    tid = tuple_id or "t" + rand_token(6)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<presence xmlns="%s" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
           'xmlns:rpid="%s" entity="%s">' % (NS_PIDF, NS_RPID, xml_escape_attr(entity)),
           '<tuple id="%s"><status><basic>%s</basic>%s</status>' % (
               tid, basic, '<show xmlns="jabber:client">%s</show>' % show if show else "")]
    if note is not None:
        out.append("<note%s>%s</note>" % (' xml:lang="%s"' % lang if lang else "", xml_escape(note)))
    out.append("</tuple>")
    if activity:
        out.append('<dm:person id="p1"><rpid:activities><rpid:%s/></rpid:activities></dm:person>' % activity)
    out.append("</presence>")
    return "\n".join(out)


def pidf_info(body):
    """{'entity', 'basic': [..], 'notes': [..], 'shows': [..], 'activities': [..],
    'tuples': [ids]} of a PIDF body, or None when it is not PIDF."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body or not body.strip():
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "{%s}presence" % NS_PIDF:
        return None
    acts = []
    for a in root.iter("{%s}activities" % NS_RPID):
        acts += [c.tag.split("}")[-1] for c in a]
    return {"entity": root.get("entity"),
            "basic": [(e.text or "").strip() for e in root.iter("{%s}basic" % NS_PIDF)],
            "notes": [(e.text or "").strip() for e in root.iter("{%s}note" % NS_PIDF)],
            "shows": [(e.text or "").strip() for e in root.iter("{%s}show" % NS_CLIENT)],
            "activities": acts,
            "tuples": [e.get("id") for e in root.iter("{%s}tuple" % NS_PIDF)]}


def substate(msg):
    """('active'|'pending'|'terminated'|None, {param: value}) of a NOTIFY."""
    v = msg.get("subscription-state") if msg is not None else None
    if v is None:
        return (None, {})
    parts = [p.strip() for p in v.split(";")]
    params = {}
    for p in parts[1:]:
        k, _, val = p.partition("=")
        params[k.strip().lower()] = val.strip()
    return (parts[0].lower(), params)


# ---------------------------------------------------------------------------
# XMPP client (slixmpp)

def _slix():
    import slixmpp  # only for /usr/bin/python3
    return slixmpp


class Received:
    """An incoming stanza: the ElementTree element, its XML text, time."""

    def __init__(self, stanza):
        self.xml = stanza.xml
        self.text = str(stanza)
        self.kind = self.xml.tag.split("}")[-1]
        self.at = time.monotonic()

    def attr(self, name):
        return self.xml.get(name)

    @property
    def type(self):
        return self.xml.get("type")

    @property
    def frm(self):
        return self.xml.get("from")

    @property
    def lang(self):
        return self.xml.get("{%s}lang" % NS_XML)

    def children(self, local, ns=NS_CLIENT):
        return self.xml.findall("{%s}%s" % (ns, local))

    def child_text(self, local, ns=NS_CLIENT):
        c = self.xml.find("{%s}%s" % (ns, local))
        return None if c is None else (c.text or "")

    @property
    def body(self):
        return self.child_text("body")

    def error_condition(self):
        """(condition, error type, has <not-connected/>) of an error stanza."""
        err = self.xml.find("{%s}error" % NS_CLIENT)
        if err is None:
            return (None, None, False)
        cond = None
        nc = False
        for c in err:
            ns, _, local = c.tag[1:].partition("}")
            if ns == NS_STANZAS and local != "text":
                cond = local
            if ns == NS_NOT_CONNECTED:
                nc = True
        return (cond, err.get("type"), nc)

    def __repr__(self):
        return self.text


class XmppClient:
    """A slixmpp client on the private Prosody: PLAIN over plain TCP, online
    once its initial presence came back."""

    def __init__(self, t, prosody, user, password, resource="e2e"):
        self.t = t
        self.prosody = prosody
        self.jid = "%s@%s/%s" % (user, prosody.host, resource)
        self.bare = "%s@%s" % (user, prosody.host)
        self.password = password
        self.inbox = []
        self._waiters = []
        self.xmpp = None

    async def connect(self, timeout=10):
        slixmpp = _slix()
        x = slixmpp.ClientXMPP(self.jid, self.password,
                               plugin_config={"feature_mechanisms": {"unencrypted_plain": True,
                                                                     "use_mech": "PLAIN"}})
        x.register_plugin("xep_0030")
        x.register_plugin("xep_0199")
        # subscription requests are the test's to answer: slixmpp would
        # otherwise approve every one at once and subscribe back
        x.auto_authorize = None
        x.auto_subscribe = False
        self.xmpp = x
        loop = asyncio.get_running_loop()
        session = loop.create_future()
        echoed = loop.create_future()
        failed = loop.create_future()

        def on_session(_):
            if not session.done():
                session.set_result(True)

        def on_presence(p):
            if str(p["from"]) == str(x.boundjid) and not echoed.done():
                echoed.set_result(True)
            self._push(p)

        def on_fail(e):
            if not failed.done():
                failed.set_result(e)

        x.add_event_handler("session_start", on_session)
        x.add_event_handler("failed_auth", on_fail)
        x.add_event_handler("connection_failed", on_fail)
        # every <message>, with or without body, errors included
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        x.register_handler(Callback("e2e-all-messages", MatchXPath("{%s}message" % NS_CLIENT), self._push))
        x.add_event_handler("presence", on_presence)
        x.connect((LOOPBACK, self.prosody.c2s_port), force_starttls=False, disable_starttls=True)
        _add_cleanup(self.abort)
        done, _ = await asyncio.wait([session, failed], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if session not in done:
            self.abort()
            raise RuntimeError("%s: no session within %ss (%s)" % (
                self.jid, timeout, failed.result() if failed.done() else "timeout"))
        x.send_presence()
        try:
            await asyncio.wait_for(asyncio.shield(echoed), timeout)
        except asyncio.TimeoutError:
            self.abort()
            raise RuntimeError("%s: initial presence not echoed within %ss" % (self.jid, timeout))
        return self

    async def fetch_roster(self, timeout=5):
        """Requests the roster: only then is the session an "interested
        resource" (RFC 6121 §2.1.6) to which the server delivers inbound
        subscribed / unsubscribed / unsubscribe.  Returns {bare JID: item attrs}."""
        r = await self.iq(None, '<query xmlns="jabber:iq:roster"/>', timeout=timeout)
        if r is None or r.type != "result":
            raise RuntimeError("%s: roster get failed: %r" % (self.jid, r))
        q = r.xml.find("{jabber:iq:roster}query")
        return {i.get("jid"): dict(i.attrib) for i in (q if q is not None else [])}

    def _push(self, stanza):
        if not hasattr(stanza, "xml"):
            return
        self.inbox.append(Received(stanza))
        for f in self._waiters:
            if not f.done():
                f.set_result(None)
        self._waiters = []

    def abort(self):
        if self.xmpp is not None:
            try:
                self.xmpp.cancel_connection_attempt()
                self.xmpp.abort()
            except Exception:
                pass

    async def disconnect(self, timeout=3):
        if self.xmpp is None:
            return
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), timeout)
        except Exception:
            self.abort()

    def mark(self):
        return len(self.inbox)

    async def expect(self, pred=None, kind="message", timeout=5.0, start=0, remove=True):
        """First stanza from index `start` on (of kind, matching pred);
        None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for i, s in enumerate(self.inbox[start:], start):
                if (kind is None or s.kind == kind) and (pred is None or pred(s)):
                    return s
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, left)
            except asyncio.TimeoutError:
                pass

    def since(self, mark, kind="message", pred=None):
        return [s for s in self.inbox[mark:] if (kind is None or s.kind == kind) and (pred is None or pred(s))]

    def send_raw(self, xml):
        self.xmpp.send_raw(xml)

    def send_message(self, to, body=None, subject=None, lang=None, mtype=None, extra="", mid=None, thread=None):
        """Builds the XML by hand so tests control every byte."""
        mid = mid or "m-" + rand_token(8)
        attrs = ' to="%s" id="%s"' % (xml_escape_attr(to), mid)
        if mtype:
            attrs += ' type="%s"' % mtype
        if lang:
            attrs += ' xml:lang="%s"' % xml_escape_attr(lang)
        inner = ""
        if subject is not None:
            inner += "<subject>%s</subject>" % xml_escape(subject)
        if body is not None:
            inner += "<body>%s</body>" % xml_escape(body)
        if thread is not None:
            inner += "<thread>%s</thread>" % xml_escape(thread)
        self.send_raw('<message xmlns="jabber:client"%s>%s%s</message>' % (attrs, inner, extra))
        return mid

    async def iq(self, to, payload_xml, itype="get", timeout=5.0):
        """Sends an IQ with the given child; returns the answer (Received,
        result or error) or None on time-out."""
        slixmpp = _slix()
        iq = self.xmpp.Iq()
        iq["type"] = itype
        if to is not None:
            iq["to"] = to
        iq.append(ET.fromstring(payload_xml))
        try:
            r = await iq.send(timeout=timeout)
            return Received(r)
        except slixmpp.exceptions.IqError as e:
            return Received(e.iq)
        except slixmpp.exceptions.IqTimeout:
            return None


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_escape_attr(s):
    return xml_escape(s).replace('"', "&quot;")


# ---------------------------------------------------------------------------
# the usual set-up in one call

class Env:
    """Prosody + SipUA + stoxd (+ logged-in clients), started in that order."""

    @classmethod
    async def start(cls, t, users=("bob",), online=("bob",), prosody=True, stoxd=True, stoxd_kw=None,
                    ready_timeout=15):
        e = cls()
        e.t = t
        e.password = "pw-" + rand_token(6)
        e.prosody = None
        e.clients = {}
        if prosody:
            e.prosody = Prosody(t)
            await e.prosody.start()
            for u in users:
                await e.prosody.register_async(u, e.password)
        e.ua = await SipUA(t).start()
        e.stoxd = None
        if stoxd:
            e.stoxd = Stoxd(t, prosody=e.prosody, proxy_port=e.ua.port, **(stoxd_kw or {}))
            e.stoxd.start()
            e.ua.peer = (LOOPBACK, e.stoxd.sip_port)
            await e.stoxd.wait_ready(ready_timeout, ua=e.ua)
        for u in online:
            e.clients[u] = await XmppClient(t, e.prosody, u, e.password).connect()
        return e

    async def wait_component(self, client, timeout=15):
        return await wait_component(client, timeout)


async def wait_component(client, timeout=15):
    """Until a ping to the component is answered by the component itself
    (not by Prosody's <not-connected/> stand-in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = await client.iq(COMPONENT, '<ping xmlns="%s"/>' % NS_PING, timeout=2)
        if last is not None and (last.type == "result" or not last.error_condition()[2]):
            return True
        await asyncio.sleep(0.2)
    return False
