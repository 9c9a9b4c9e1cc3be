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

What the generated kamailio.cfg does (all on 127.0.0.1, UDP and TCP on one
free port; modules tm sl rr pv maxfwd textops siputils xlog sanity usrloc
registrar presence presence_xml db_text):

  - OPTIONS to the server itself (no user part)       -> 200
  - in-dialog requests (To tag): loose_route() and relay; an in-dialog
    SUBSCRIBE to the server itself goes to the presence module
  - any request to a user of `gateway_domain`          -> record_route() and
    t_relay() to the gateway (127.0.0.1:gateway_port), Request-URI unchanged,
    with a P-Asserted-Identity for a From of `domain` (any the sender wrote
    is removed)
  - REGISTER for `domain`                              -> save("location")
  - PUBLISH / SUBSCRIBE for `domain`                   -> handle_publish() /
    handle_subscribe() (presence_xml force_active=1: every watcher accepted)
  - anything else for `domain`                         -> lookup("location")
    and t_relay() to the registered contact (404 when none)
  - other domains                                      -> 403

The presence state lives in db_text tables in the private directory (the
version, presentity, active_watchers, watchers and xcap tables, copied from
the schema files Debian ships in /usr/share/kamailio/dbtext/kamailio/).
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
}
# Kamailio 5.6's presence write-back timer (subs_db_mode 2) inserts
# active_watchers rows without `flags`; the shipped db_text schema declares
# it NOT NULL, so every insert fails ("null value not allowed - field 25")
# and the subscriptions never reach the table.  Allow NULL there.
_SCHEMA_FIXES = {"active_watchers": [("flags(int) ", "flags(int,null) ")]}
_VERSIONS = {"version": 1, "presentity": 5, "active_watchers": 12, "watchers": 3, "xcap": 4}


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
                 shm_mb=256, children=2, extra_cfg="", name="kamailio"):
        self.t = t
        self.name = name
        self.domain = domain
        self.gateway_domain = gateway_domain
        self.gateway_host = gateway_host
        self.gateway_port = gateway_port
        self.gateway_transport = gateway_transport
        self.port = port or st.free_port(tcp=True, udp=True)
        self.debug = debug
        self.shm_mb = shm_mb
        self.children = children
        self.extra_cfg = extra_cfg
        self.dir = st.make_tempdir("stox-kamailio-")
        self.rundir = self.dir
        self.dbdir = os.path.join(self.dir, "db")
        self.config = os.path.join(self.dir, "kamailio.cfg")
        self.log = os.path.join(self.dir, "kamailio.log")
        self.pidfile = os.path.join(self.dir, "pid")
        self.proc = None
        self.expect_exit = False
        self._write_db()
        self.write_config()
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
        for table in PRESENCE_TABLES:
            dst = os.path.join(self.dbdir, table)
            if src and os.path.isfile(os.path.join(src, table)):
                with open(os.path.join(src, table)) as f:
                    text = f.read()
            else:
                text = _SCHEMA[table] + "\n"
            head, nl, rows = text.partition("\n")
            for old, new in _SCHEMA_FIXES.get(table, []):
                head = head.replace(old, new)
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
            for table in ("version",) + PRESENCE_TABLES:
                f.write("0:%s:%d\n" % (table, versions[table]))

    def db_table(self, table):
        """The current text of a db_text table file ("" when unreadable)."""
        try:
            with open(os.path.join(self.dbdir, table), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def write_config(self):
        gw = ""
        if self.gateway_port:
            gw = "sip:%s:%d;transport=%s" % (self.gateway_host, self.gateway_port, self.gateway_transport)
        cfg = r'''#!KAMAILIO
# private test instance (tests/e2e/kamailio.py)

debug={debug}
log_stderror=yes
log_prefix="{{$mt $rm $ci}} "
memdbg=5
memlog=5
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
dns_try_ipv6=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
alias="{domain}"
tcp_connection_lifetime=120
server_header="Server: stox-test-kamailio"
user_agent_header="User-Agent: stox-test-kamailio"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_text.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"

modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 10000)
modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("db_text", "db_mode", 0)

modparam("presence", "db_url", "text://{dbdir}")
modparam("presence", "server_address", "{server}")
modparam("presence", "subs_db_mode", 2)
modparam("presence", "db_update_period", 2)
modparam("presence", "clean_period", 5)
modparam("presence", "max_expires", 3600)
modparam("presence", "min_expires", 0)
modparam("presence_xml", "db_url", "text://{dbdir}")
modparam("presence_xml", "force_active", 1)
modparam("presence_xml", "integrated_xcap_server", 1)
{extra}
request_route {{
	xlog("L_INFO", "REQ $rm $ru from $si:$sp/$pr\n");

	if (!mf_process_maxfwd_header("10")) {{
		sl_send_reply("483", "Too Many Hops");
		exit;
	}}
	if (!sanity_check("17895", "7")) {{
		xlog("L_WARN", "malformed request from $si:$sp\n");
		exit;
	}}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
		sl_send_reply("200", "Keepalive");
		exit;
	}}

	route(WITHINDLG);

	if (is_method("CANCEL")) {{
		if (t_check_trans()) route(RELAY);
		exit;
	}}
	if (!is_method("ACK")) t_check_trans();

	# an initial request preloaded with a Route to us (an outbound-proxy
	# user such as stoxd): we are its only hop
	remove_hf("Route");

	if ($rd == "{gwdomain}") route(GATEWAY);

	if ($rd != "{domain}" && !(uri == myself)) {{
		sl_send_reply("403", "Not relaying");
		exit;
	}}
	if (is_method("REGISTER")) {{
		if (!save("location")) sl_reply_error();
		exit;
	}}
	if (is_method("PUBLISH|SUBSCRIBE")) route(PRESENCE);

	if ($rU == $null) {{
		sl_send_reply("484", "Address Incomplete");
		exit;
	}}
	if (!lookup("location")) {{
		t_newtran();
		t_reply("404", "Not Found");
		exit;
	}}
	route(RELAY);
}}

route[RELAY] {{
	if (!t_relay()) sl_reply_error();
	exit;
}}

route[WITHINDLG] {{
	if (!has_totag()) return;
	if (loose_route()) {{
		xlog("L_INFO", "in-dialog $rm routed to $ru (du=$du)\n");
		route(RELAY);
	}}
	if (is_method("SUBSCRIBE") && uri == myself) route(PRESENCE);
	if (is_method("ACK")) {{
		if (t_check_trans()) route(RELAY);
		exit;
	}}
	sl_send_reply("404", "Not here");
	exit;
}}

route[GATEWAY] {{
{nogw}	if (is_method("INVITE|SUBSCRIBE|REFER")) record_route();
	# Only this proxy asserts an identity (RFC 3325 §5).  A closed test
	# network: every From of the local domain counts as checked (the
	# deployment guide's example authenticates first).
	remove_hf("P-Asserted-Identity");
	if ($fd == "{domain}") append_hf("P-Asserted-Identity: <sip:$fU@$fd>\r\n");
	$du = "{gw}";
	xlog("L_INFO", "to the gateway: $rm $ru via $du\n");
	route(RELAY);
}}

route[PRESENCE] {{
	if (!t_newtran()) {{
		sl_reply_error();
		exit;
	}}
	if (is_method("PUBLISH")) {{
		handle_publish();
	}} else {{
		handle_subscribe();
	}}
	exit;
}}
'''.format(domain=self.domain, gwdomain=self.gateway_domain, gw=gw, server=self.server_uri,
           nogw='\tsl_send_reply("503", "No gateway configured");\n\texit;\n' if not gw else "",
           debug=self.debug, port=self.port, dbdir=self.dbdir, extra=self.extra_cfg)
        with open(self.config, "w") as f:
            f.write(cfg)
        return self.config

    # -- process -------------------------------------------------------

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def argv(self):
        return [KAMAILIO, "-f", self.config, "-DD", "-E", "-n", str(self.children),
                "-Y", self.rundir, "-w", self.rundir, "-P", self.pidfile, "-m", str(self.shm_mb)]

    def check_config(self, timeout=15):
        """`kamailio -c` on the generated file: (exit code, output)."""
        r = subprocess.run([KAMAILIO, "-c", "-f", self.config, "-Y", self.rundir, "-w", self.rundir,
                            "-m", "64"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
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
                self.write_config()

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

