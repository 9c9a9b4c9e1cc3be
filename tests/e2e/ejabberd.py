# SPDX-License-Identifier: GPL-2.0-or-later
"""A private ejabberd 23.01 for the end-to-end tests, beside stoxtest.py's
Prosody and with the same shape (start, stop, register_async, c2s_port,
component_port, secret), so XmppClient and Stoxd take either.

Its component listener is the deployment guide's own snippet,
docs/examples/ejabberd-stox.yml, loaded with include_config_file after this
test's component name, secret and port replace the three values the guide
tells operators to replace.

Traps of Debian 12's ejabberd that this file works around:
- ejabberdctl runs only as root or as the user ejabberd, and as root it
  switches to ejabberd (su) unless its settings say
  EXEC_CMD=as_current_user; for any other user this harness runs a private
  copy of ejabberdctl without that check.
- A private node needs its own config, spool, logs, a private HOME (its
  own Erlang cookie) and a unique node name; ERL_DIST_PORT makes the node
  listen on that one port (on loopback, by inet_dist_use_interface) and
  start no epmd, so two tests never meet.
- ejabberdctl does not exec the Erlang VM: the PID started here is a shell
  whose child is beam.smp.  The node is stopped with "ejabberdctl stop";
  only if that fails is the process group this harness created (its own
  session) killed.
- Without global_routes: false the first component to connect would get the
  traffic of every host of the listener; the guide's snippet sets it.
- With s2s_access: none, a stanza to the component while it is not
  connected gets <forbidden/> from ejabberd (Prosody: <not-connected/>), so
  "is stox connected" is asked with a ping only stox answers (wait_component).
- ejabberd passes JIDs on as written (no case folding before delivery),
  never answers a probe from a non-subscriber nor for an offline subscribed
  user, and drops type="normal" when delivering a message.
"""

import asyncio
import os
import re
import signal
import subprocess
import time

import stoxtest as st

EJABBERDCTL = "/usr/sbin/ejabberdctl"
SNIPPET = os.path.join(st.SRCDIR, "docs", "examples", "ejabberd-stox.yml")

# what the guide's snippet says and an operator replaces
SNIPPET_COMPONENT = "sip.example.com"
SNIPPET_SECRET = '"contents of /etc/stox/secret"'
SNIPPET_PORT = "port: 5347"


def yaml_string(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def component_block(text, component, secret, port):
    """The guide's ejabberd snippet with the component name, the secret and
    the port replaced; each must occur exactly once, so the file the guide
    shows and the one the tests load cannot drift apart unseen."""
    for needle in (SNIPPET_COMPONENT + ":", SNIPPET_SECRET, SNIPPET_PORT):
        count = len(re.findall(r"^[^#\n]*" + re.escape(needle), text, re.M))
        if count != 1:
            raise RuntimeError("%s: %r appears %d times outside comments (want once)" % (SNIPPET, needle, count))
    out = []
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            line = line.replace(SNIPPET_COMPONENT + ":", component + ":")
            line = line.replace(SNIPPET_SECRET, yaml_string(secret))
            line = line.replace(SNIPPET_PORT, "port: %d" % port)
        out.append(line)
    return "".join(out)


class Ejabberd:
    """A private ejabberd node on loopback: c2s without TLS, the component
    listener of docs/examples/ejabberd-stox.yml, mnesia in its own spool."""

    def __init__(self, t=None, secret=None, host=st.XMPP_DOMAIN, component=st.COMPONENT, offline=False,
                 extra_modules=""):
        self.t = t
        self.dir = st.make_tempdir("stox-ejabberd-")
        self.host = host
        self.component = component
        self.secret = secret if secret is not None else "s3cret-" + st.rand_token(6)
        self.c2s_port = st.free_port(udp=False)
        self.component_port = st.free_port(udp=False)
        self.dist_port = st.free_port(udp=False)
        self.node = "stoxe2e%s@localhost" % st.rand_token(8)
        self.config = os.path.join(self.dir, "ejabberd.yml")
        self.ctl_config = os.path.join(self.dir, "ejabberdctl.cfg")
        self.block = os.path.join(self.dir, "stox.yml")
        self.spool = os.path.join(self.dir, "spool")
        self.logs = os.path.join(self.dir, "logs")
        self.home = os.path.join(self.dir, "home")
        self.log = os.path.join(self.logs, "ejabberd.log")
        for d in (self.spool, self.logs, self.home):
            os.makedirs(d, exist_ok=True)
        self.proc = None
        self.expect_exit = False

        with open(SNIPPET, encoding="utf-8") as f:
            snippet = f.read()
        with open(self.block, "w", encoding="utf-8") as f:
            f.write(component_block(snippet, component, self.secret, self.component_port))
        os.chmod(self.block, 0o600)
        with open(os.path.join(self.dir, "inetrc"), "w") as f:
            f.write('{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n')
        modules = "  mod_disco: {}\n  mod_ping: {}\n  mod_roster: {}\n"
        if offline:
            modules += "  mod_offline: {}\n"
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f'''# private test instance (tests/e2e/ejabberd.py)
hosts:
  - "{host}"
loglevel: info
log_rotate_count: 0
acme:
  auto: false
listen:
  -
    port: {self.c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: false
# the guide's component block, as an operator would include it
include_config_file:
  "{self.block}":
    allow_only:
      - listen
s2s_access: none
auth_method: internal
auth_password_format: plain
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
{modules}{extra_modules}''')
        with open(self.ctl_config, "w") as f:
            f.write(f'''# private test instance (tests/e2e/ejabberd.py)
EXEC_CMD=as_current_user
ERLANG_NODE={self.node}
ERL_DIST_PORT={self.dist_port}
ERL_OPTIONS="-kernel inet_dist_use_interface {{127,0,0,1}}"
EJABBERD_BYPASS_WARNINGS=true
EJABBERD_PID_PATH={self.dir}/ejabberd.pid
CONTRIB_MODULES_PATH={self.dir}/contrib
CONTRIB_MODULES_CONF_DIR={self.dir}/contrib-conf
''')
        self.ctl_bin = self._ctl_path()
        st._add_cleanup(self._cleanup)
        if t is not None:
            t.add_log("ejabberd", self.log, max_lines=15)
            t.procs.append(("ejabberd", self))

    def _ctl_path(self):
        """ejabberdctl itself as root; otherwise a private copy without its
        "root or ejabberd only" check (it only decides whether to su)."""
        if os.geteuid() == 0:
            return EJABBERDCTL
        copy = os.path.join(self.dir, "ejabberdctl")
        with open(EJABBERDCTL, encoding="utf-8") as f:
            text = f.read()
        text, n = re.subn(r"^INSTALLUSER=.*$", "INSTALLUSER=", text, count=1, flags=re.M)
        if n != 1:
            raise RuntimeError("%s: no INSTALLUSER= line to clear" % EJABBERDCTL)
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(copy, 0o755)
        return copy

    def _argv(self, *cmd):
        return [self.ctl_bin, "--config-dir", self.dir, "--config", self.config, "--ctl-config", self.ctl_config,
                "--spool", self.spool, "--logs", self.logs] + list(cmd)

    def _env(self):
        env = dict(os.environ)
        env["HOME"] = self.home
        env.pop("NOTIFY_SOCKET", None)
        env.pop("ERL_FLAGS", None)
        env.pop("ERL_AFLAGS", None)
        env.pop("ERL_ZFLAGS", None)
        return env

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    async def start(self, timeout=30):
        assert not self.running
        self.expect_exit = False
        out = open(os.path.join(self.dir, "ejabberd.stdout"), "ab")
        # its own session: the VM is a child of ejabberdctl's shell, and the
        # last resort of stop() is this process group
        self.proc = subprocess.Popen(self._argv("foreground"), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, cwd=self.dir, env=self._env(),
                                     start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if await st.port_accepts(self.c2s_port) and await st.port_accepts(self.component_port):
                return
            await asyncio.sleep(0.05)
        text = "\n".join(st.tail(os.path.join(self.dir, "ejabberd.stdout"), 20) + st.tail(self.log, 20))
        self._kill_group()
        raise RuntimeError("ejabberd did not open c2s %d / component %d within %ss:\n%s"
                           % (self.c2s_port, self.component_port, timeout, text))

    async def ctl(self, *cmd, timeout=30):
        """(exit status, output) of an ejabberdctl command to this node."""
        proc = await asyncio.create_subprocess_exec(*self._argv(*cmd), stdin=subprocess.DEVNULL,
                                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                    cwd=self.dir, env=self._env())
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            return (None, "ejabberdctl %s: timed out after %ss" % (" ".join(cmd), timeout))
        return (proc.returncode, out.decode("utf-8", "replace"))

    async def register_async(self, user, password):
        code, out = await self.ctl("register", user, self.host, password)
        if code != 0:
            raise RuntimeError("ejabberdctl register %s failed (%r): %s" % (user, code, out))

    async def stop(self, grace=15.0):
        """ejabberdctl stop, then wait for the PID started here; the process
        group only if that did not end it within `grace` seconds."""
        self.expect_exit = True
        if not self.running:
            return self.proc.returncode if self.proc else None
        await self.ctl("stop", timeout=grace)
        await st.wait_until(lambda: self.proc.poll() is not None, grace)
        if self.proc.poll() is None:
            self._kill_group()
        return self.proc.returncode

    def _kill_group(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def _cleanup(self):
        """Synchronous (atexit): ejabberdctl stop with a bound, then the group."""
        if not self.running:
            return
        try:
            subprocess.run(self._argv("stop"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, cwd=self.dir, env=self._env(), timeout=15)
            self.proc.wait(15)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self._kill_group()


async def wait_component(client, timeout=15):
    """Until stox itself answers a ping to the component: with ejabberd an
    error reply may come from the server (<forbidden/>), so only a result
    counts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await client.iq(st.COMPONENT, '<ping xmlns="%s"/>' % st.NS_PING, timeout=2)
        if r is not None and r.type == "result":
            return True
        await asyncio.sleep(0.2)
    return False
