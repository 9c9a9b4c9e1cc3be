# SPDX-License-Identifier: GPL-2.0-or-later
"""A private Kamailio 5.6 presence server for the end-to-end tests.

    import stoxtest as st
    from kamailio import Kamailio

    kam = Kamailio(t, domain="sip.test", gateway_domain="xmpp.test",
                   gateway_port=stoxd.sip_port)
    await kam.start()          # returns once it answers OPTIONS over UDP
    ua.peer = kam.addr         # (127.0.0.1, kam.port)
    ...
    await kam.stop()           # SIGTERM by PID, SIGKILL after 5 s

It runs docs/examples/kamailio-stox.cfg, the deployment guide's example,
unchanged: every address, port, domain and directory is given on the
command line as a -A define (see the head of that file), so the tests
check what operators copy.  In short (all on 127.0.0.1, UDP and TCP on one
free port):

  - OPTIONS to the server itself (no user part)       -> 200
  - in-dialog requests (To tag): loose_route() and relay; an in-dialog
    SUBSCRIBE to the server itself goes to the presence module
  - a request for a user of `gateway_domain` from a user of `domain`
    -> record_route() (SUBSCRIBE) and t_relay() to the gateway
    (127.0.0.1:gateway_port), Request-URI unchanged; from the gateway
    itself -> 482; from another domain -> 403
  - REGISTER for `domain`                              -> save("location")
  - PUBLISH / SUBSCRIBE for `domain`                   -> handle_publish() /
    handle_subscribe() (presence_xml force_active=1: every watcher accepted)
  - anything else for `domain`                         -> lookup("location")
    and t_relay() to the registered contact (404 when none)
  - other domains                                      -> 403
  - a checked local user gets a P-Asserted-Identity: with `users`
    (name -> password) digest authentication is on (401/407) and every
    authenticated request is asserted; without, a request is asserted
    when it comes from the address its From user registered from.

The presence state lives in db_text tables in the private directory (the
version, presentity, active_watchers, watchers, xcap and, with `users`,
subscriber tables, copied from the schema files Debian ships in
/usr/share/kamailio/dbtext/kamailio/).
Everything is removed at clean-up unless STOX_E2E_KEEP=1.
"""

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import time

import stoxtest as st

KAMAILIO = os.environ.get("STOX_KAMAILIO") or "/usr/sbin/kamailio"
# the deployment guide's example, which these tests run as it is
CONFIG = os.path.join(st.SRCDIR, "docs", "examples", "kamailio-stox.cfg")
DBTEXT_SCHEMA_DIRS = ("/usr/share/kamailio/db_text/kamailio", "/usr/share/kamailio/dbtext/kamailio")
PRESENCE_TABLES = ("presentity", "active_watchers", "watchers", "xcap")

# Used when the schema files are not installed (the same text as Kamailio
# 5.6's utils/kamctl/dbtext/kamailio/*): first line = column definitions.
_SCHEMA = {
    "presentity": "id(int,auto) username(string) domain(string) event(string) etag(string) "
                  "expires(int) received_time(int) body(string) sender(string) priority(int) "
                  "ruid(string,null) ",
    "active_watchers": "id(int,auto) presentity_uri(string) watcher_username(string) "
                       "watcher_domain(string) to_user(string) to_domain(string) event(string) "
                       "event_id(string,null) to_tag(string) from_tag(string) callid(string) "
                       "local_cseq(int) remote_cseq(int) contact(string) record_route(string,null) "
                       "expires(int) status(int) reason(string,null) version(int) "
                       "socket_info(string) local_contact(string) from_user(string) "
                       "from_domain(string) updated(int) updated_winfo(int) flags(int) "
                       "user_agent(string,null) ",
    "watchers": "id(int,auto) presentity_uri(string) watcher_username(string) "
                "watcher_domain(string) event(string) status(int) reason(string,null) "
                "inserted_time(int) ",
    "xcap": "id(int,auto) username(string) domain(string) doc(string) doc_type(int) etag(string) "
            "source(int) doc_uri(string) port(int) ",
    "subscriber": "id(int,auto) username(string) domain(string) password(string) ha1(string) "
                  "ha1b(string) ",
    "sip_trace": "id(int,auto) time_stamp(int) time_us(int) callid(string) traced_user(string) "
                 "msg(string) method(string) status(string) fromip(string) toip(string) "
                 "fromtag(string) totag(string) direction(string) ",
}
# TRAP (Debian 12, Kamailio 5.6 db_text): the presence write-back timer
# (subs_db_mode 2) inserts active_watchers rows without `flags`; the
# shipped schema declares it NOT NULL and db_text knows no column
# defaults, so every insert fails ("null value not allowed - field 25")
# and the subscriptions never reach the table.  Allow NULL there (the
# deployment guide's kamailio-stox.cfg tells operators the same sed).
_SCHEMA_FIXES = {"active_watchers": [("flags(int) ", "flags(int,null) ")]}
_VERSIONS = {"version": 1, "presentity": 5, "active_watchers": 12, "watchers": 3, "xcap": 4,
             "subscriber": 7, "sip_trace": 4}


def _cfg_str(v):
    """A Kamailio string literal for a -A define (the quotes are part of
    the value); the tests' domains, paths and URIs need no escaping."""
    if '"' in v or "\\" in v or "\n" in v:
        raise ValueError("not a plain Kamailio string: %r" % v)
    return '"%s"' % v


def _dbt_escape(v):
    """A db_text field (README.db_text: ':', '\\', newlines escaped)."""
    return (v.replace("\\", "\\\\").replace(":", "\\:").replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t"))


def available():
    return os.access(KAMAILIO, os.X_OK)


def _pdeathsig():
    """In the child before exec: SIGTERM it when the test process dies, so an
    aborted test never leaves a Kamailio behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class _PortTaken(Exception):
    pass


class Kamailio:
    """A private Kamailio presence server / proxy (see the module doc)."""

    def __init__(self, t=None, domain=st.SIP_DOMAIN, gateway_domain=st.XMPP_DOMAIN, gateway_port=None,
                 gateway_host=st.LOOPBACK, gateway_transport="udp", port=None, debug=2,
                 shm_mb=256, children=2, users=None, trace_port=None, name="kamailio"):
        """`users`: {name: password} of `domain` for digest authentication
        (auth_db on the subscriber table); None runs the file with
        -A WITHOUT_AUTH, for the scripted SIP peers that do not
        authenticate.  `trace_port`: a copy of every message Kamailio
        receives or sends goes to 127.0.0.1:trace_port over UDP (the
        file's SIPTRACE_URI)."""
        self.t = t
        self.name = name
        self.domain = domain
        self.gateway_domain = gateway_domain
        self.gateway_host = gateway_host
        # the file always routes the gateway's domain somewhere: without a
        # gateway, to a port nobody listens on (requests time out, 408)
        self.gateway_port = gateway_port or st.free_port(tcp=True, udp=True)
        self.gateway_transport = gateway_transport
        self.port = port or st.free_port(tcp=True, udp=True)
        self.debug = debug
        self.shm_mb = shm_mb
        self.children = children
        self.users = dict(users) if users is not None else None
        self.trace_port = trace_port
        self.dir = st.make_tempdir("stox-kamailio-")
        self.rundir = self.dir
        self.dbdir = os.path.join(self.dir, "db")
        self.config = CONFIG
        self.log = os.path.join(self.dir, "kamailio.log")
        self.pidfile = os.path.join(self.dir, "pid")
        self.proc = None
        self.expect_exit = False
        if not os.path.isfile(self.config):
            raise RuntimeError("kamailio: no %s (the deployment example the tests run)" % self.config)
        self._write_db()
        st._add_cleanup(self._cleanup)
        if t is not None:
            t.add_log(name, self.log, max_lines=30)
            t.procs.append((name, self))

    # -- addresses -----------------------------------------------------

    @property
    def addr(self):
        return (st.LOOPBACK, self.port)

    def uri(self, user=None, domain=None, transport=None):
        """sip:[user@]domain — the proxy is reached by `addr`, so a URI with
        a domain is for the Request-URI; without one it is the server."""
        host = domain or "%s:%d" % (st.LOOPBACK, self.port)
        u = "sip:%s%s" % (user + "@" if user else "", host)
        return u + (";transport=" + transport if transport else "")

    @property
    def server_uri(self):
        return "sip:%s:%d" % (st.LOOPBACK, self.port)

    # -- files ---------------------------------------------------------

    def _write_db(self):
        os.makedirs(self.dbdir, exist_ok=True)
        src = next((d for d in DBTEXT_SCHEMA_DIRS if os.path.isfile(os.path.join(d, "presentity"))), None)
        tables = PRESENCE_TABLES + (("subscriber",) if self.users is not None else ()) \
            + (("sip_trace",) if self.trace_port else ())
        for table in tables:
            dst = os.path.join(self.dbdir, table)
            if src and os.path.isfile(os.path.join(src, table)):
                with open(os.path.join(src, table)) as f:
                    text = f.read()
            else:
                text = _SCHEMA[table] + "\n"
            head, nl, rows = text.partition("\n")
            for old, new in _SCHEMA_FIXES.get(table, []):
                head = head.replace(old, new)
            if table == "subscriber":
                # id:username:domain:password:ha1:ha1b; auth_db computes
                # HA1 from the password (calculate_ha1), the ha1 columns
                # are NOT NULL: a placeholder
                rows = "".join("%d:%s:%s:%s:x:x\n" % (i, _dbt_escape(u), _dbt_escape(self.domain),
                                                        _dbt_escape(pw))
                               for i, (u, pw) in enumerate(sorted(self.users.items()), 1))
                nl = "\n"
            with open(dst, "w") as f:
                f.write(head + nl + rows)
        # only the version rows of the tables present here; db_text
        # checks them against the modules' expected versions at start-up
        versions = dict(_VERSIONS)
        if src and os.path.isfile(os.path.join(src, "version")):
            with open(os.path.join(src, "version")) as f:
                for line in f.read().splitlines()[1:]:
                    parts = line.split(":")
                    if len(parts) == 3 and parts[1] in versions and parts[2].isdigit():
                        versions[parts[1]] = int(parts[2])
        with open(os.path.join(self.dbdir, "version"), "w") as f:
            f.write("id(int,auto) table_name(string) table_version(int) \n")
            for table in ("version",) + tables:
                f.write("0:%s:%d\n" % (table, versions[table]))

    def db_table(self, table):
        """The current text of a db_text table file ("" when unreadable)."""
        try:
            with open(os.path.join(self.dbdir, table), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def defines(self):
        """The -A defines that fit docs/examples/kamailio-stox.cfg to this
        private instance (the names are documented at the file's head)."""
        gw = "sip:%s:%d;transport=%s" % (self.gateway_host, self.gateway_port, self.gateway_transport)
        d = [("SIP_DOMAIN", _cfg_str(self.domain)),
             ("XMPP_DOMAINS", _cfg_str("^(%s)$" % self.gateway_domain.replace(".", "[.]"))),
             ("LISTEN_IP", st.LOOPBACK),
             ("SIP_PORT", str(self.port)),
             ("PRESENCE_SERVER", _cfg_str(self.server_uri)),
             ("STOXD_URI", _cfg_str(gw)),
             ("STOXD_IP", _cfg_str(self.gateway_host)),
             ("DB_URL", _cfg_str("text://" + self.dbdir)),
             ("DEBUG_LEVEL", str(self.debug))]
        if self.users is None:
            d.append(("WITHOUT_AUTH", None))
        if self.trace_port:
            d.append(("SIPTRACE_URI", _cfg_str("sip:%s:%d" % (st.LOOPBACK, self.trace_port))))
        out = []
        for name, value in d:
            out += ["-A", name if value is None else "%s=%s" % (name, value)]
        return out

    # -- process -------------------------------------------------------

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def argv(self):
        return [KAMAILIO, "-f", self.config] + self.defines() + [
            "-DD", "-E", "-n", str(self.children),
            "-Y", self.rundir, "-w", self.rundir, "-P", self.pidfile, "-m", str(self.shm_mb)]

    def check_config(self, timeout=15):
        """`kamailio -c` on the file with this instance's defines: (exit
        code, output)."""
        r = subprocess.run([KAMAILIO, "-c", "-f", self.config] + self.defines() +
                           ["-Y", self.rundir, "-w", self.rundir, "-m", "64"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, cwd=self.dir)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    async def start(self, timeout=15, tries=3):
        """Starts it and returns once it answers OPTIONS over UDP and accepts
        TCP; raises with the log tail when it does not.  When the port was
        taken in the meantime (tests run in parallel) it retries on another."""
        for attempt in range(tries):
            try:
                return await self._start_once(timeout)
            except _PortTaken:
                if attempt == tries - 1:
                    raise RuntimeError("kamailio: port %d in use, %d tries:\n%s"
                                       % (self.port, tries, "\n".join(st.tail(self.log, 20))))
                self.port = st.free_port(tcp=True, udp=True)

    async def _start_once(self, timeout):
        assert not self.running
        self.expect_exit = False
        logf = open(self.log, "ab")
        log_start = logf.tell()
        logf.write(("=== %s start %s: %s\n" % (self.name, time.strftime("%H:%M:%S"),
                                               " ".join(self.argv()))).encode())
        logf.flush()
        # own process group (its id is the PID we start): the SIGKILL
        # fallback reaches the workers the main process forked, nothing else
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
                                     preexec_fn=_pdeathsig)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            if await st.port_accepts(self.port) and await self._udp_options(0.5):
                return self
            await asyncio.sleep(0.1)
        if not self.running and "already in use" in self._log_since(log_start):
            self._kill()
            raise _PortTaken()
        why = ("exited with status %r" % self.proc.returncode) if not self.running \
            else "no OPTIONS answer within %ss" % timeout
        self._kill()
        raise RuntimeError("kamailio did not start (%s):\n%s" % (why, "\n".join(st.tail(self.log, 40))))

    def _log_since(self, offset):
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    async def _udp_options(self, timeout):
        """One OPTIONS over UDP from an ephemeral socket; True on 200."""
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            s.bind((st.LOOPBACK, 0))
            lport = s.getsockname()[1]
            branch = "z9hG4bK" + st.rand_token(12)
            msg = ("OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
                   "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=%s\r\nTo: <%s>\r\n"
                   "Call-ID: %s@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                   % (self.server_uri, lport, branch, st.rand_token(6), self.server_uri,
                      st.rand_token(12))).encode()
            s.sendto(msg, self.addr)
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                try:
                    data = await asyncio.wait_for(loop.sock_recv(s, 65536), end - time.monotonic())
                except (asyncio.TimeoutError, OSError):
                    return False
                if data.startswith(b"SIP/2.0 200") and branch.encode() in data:
                    return True
            return False
        finally:
            s.close()

    def _group_alive(self):
        """Is any process of the group our PID leads still running (zombies,
        left when a SIGKILLed main process could not reap its workers, do
        not count)?"""
        if self.proc is None:
            return False
        try:
            os.killpg(self.proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        try:
            pids = [d for d in os.listdir("/proc") if d.isdigit()]
        except OSError:
            return True
        for d in pids:
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # after "(comm)": state ppid pgrp ...
            if len(fields) > 2 and fields[2] == str(self.proc.pid) and fields[0] not in ("Z", "X"):
                return True
        return False

    def _kill(self, grace=5.0):
        """Synchronous stop for clean-up: SIGTERM to our PID, SIGKILL to its
        process group after `grace` s."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self._reap_group()
        return self.proc.returncode

    def _reap_group(self):
        if self.proc.poll() is None or self._group_alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            end = time.monotonic() + 2
            while self._group_alive() and time.monotonic() < end:
                time.sleep(0.02)

    def _cleanup(self):
        self.expect_exit = True
        self._kill()

    async def stop(self, grace=5.0):
        """SIGTERM by PID; SIGKILL (to the process group it leads) after
        `grace` s.  Returns (exit status, seconds, killed)."""
        self.expect_exit = True
        if not self.running:
            if self.proc is not None:
                self._reap_group()
            return (self.proc.returncode if self.proc else None, 0.0, False)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        await st.wait_until(lambda: self.proc.poll() is not None and not self._group_alive(), grace)
        killed = self.proc.poll() is None or self._group_alive()
        if killed:
            self._reap_group()
        return (self.proc.returncode, time.monotonic() - t0, killed)

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


# ---------------------------------------------------------------------------
# PIDF helpers for the presence tests

NS_PIDF = "urn:ietf:params:xml:ns:pidf"


def pidf(entity, basic="open", note=None, tuple_id=None, contact=None):
    """A minimal RFC 3863 document."""
    tid = tuple_id or "t" + st.rand_token(6)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<presence xmlns="%s" entity="%s">' % (NS_PIDF, st.xml_escape_attr(entity)),
           '<tuple id="%s"><status><basic>%s</basic></status>' % (tid, basic)]
    if contact:
        out.append("<contact>%s</contact>" % st.xml_escape(contact))
    if note is not None:
        out.append("<note>%s</note>" % st.xml_escape(note))
    out.append("</tuple></presence>")
    return "\n".join(out)


def pidf_summary(body):
    """(entity, [basic…], [note…]) of a PIDF body; None when it is not PIDF."""
    import xml.etree.ElementTree as ET
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "{%s}presence" % NS_PIDF:
        return None
    basics = [(e.text or "").strip() for e in root.iter("{%s}basic" % NS_PIDF)]
    notes = [(e.text or "").strip() for e in root.iter("{%s}note" % NS_PIDF)]
    return (root.get("entity"), basics, notes)


def subscription_state(msg):
    """('active'|'pending'|'terminated'|None, {param: value}) of a NOTIFY."""
    v = msg.get("subscription-state")
    if v is None:
        return (None, {})
    parts = [p.strip() for p in v.split(";")]
    params = {}
    for p in parts[1:]:
        k, _, val = p.partition("=")
        params[k.strip().lower()] = val.strip()
    return (parts[0].lower(), params)

