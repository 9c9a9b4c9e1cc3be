#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd(8) LOGGING and SIGNALS: what the journal sees.  stoxd runs with its
stderr on a journal stream, as under systemd, so that GLib speaks the
journal's native protocol; each entry's PRIORITY= is then what
"journalctl -p" filters on:
  - a failed start (a configuration error) is err;
  - a component secret the XMPP server refuses is err;
  - a component link that is down is warning;
  - SIGUSR1 turns debug on at run time, SIGUSR2 turns it off again.

There is no journald on a build machine, so the test stands in for it: in a
private mount namespace (unshare, as root) a tmpfs on /run holds
/run/systemd/journal/stdout (the stream stderr is connected to; GLib checks
that its peer lives there) and /run/systemd/journal/socket (the datagram
socket GLib writes entries to).  The entries are decoded as journald
would: KEY=value lines, or KEY, a little-endian 64-bit length and the
value."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

NS_MARK = "STOX_TEST_JOURNAL_NS"
if os.environ.get(NS_MARK) != "1":
    # Re-run inside a private mount namespace; if that is not possible the
    # test fails (no plan), it is never skipped.
    env = dict(os.environ)
    env[NS_MARK] = "1"
    argv = ["unshare", "--mount", "--propagation", "private", "--",
            sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
    os.execvpe("unshare", argv, env)

import stoxtest as st  # noqa: E402

JOURNAL_DIR = "/run/systemd/journal"
LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_DEBUG = 3, 4, 5, 7


def parse_entry(data):
    """One native-protocol datagram → {field: str}."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            size = int.from_bytes(data[nl + 1:nl + 9], "little")
            value = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields[key.decode()] = value.decode("utf-8", "replace")
    return fields


class Journal:
    """The two sockets journald offers, and the entries received."""

    def __init__(self):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "stox-test-run", "/run"], check=True)
        os.makedirs(JOURNAL_DIR)
        self.entries = []          # (monotonic time, fields)
        self.dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dgram.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.dgram.bind(os.path.join(JOURNAL_DIR, "socket"))
        self.dgram.setblocking(False)
        self.stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.stream.bind(os.path.join(JOURNAL_DIR, "stdout"))
        self.stream.listen(8)
        self.stream.setblocking(False)
        asyncio.get_running_loop().add_reader(self.dgram.fileno(), self._on_dgram)
        self.logs = []             # files the entries are copied to (for the harness)

    def _on_dgram(self):
        for _ in range(1000):
            try:
                data = self.dgram.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                return
            fields = parse_entry(data)
            self.entries.append((time.monotonic(), fields))
            for path in self.logs:
                with open(path, "a") as f:
                    f.write("<%s> %s\n" % (fields.get("PRIORITY"), fields.get("MESSAGE")))

    def connect_stderr(self, log_path):
        """A stream socket whose peer is the journal's stdout socket, for a
        child's stderr; what arrives on it (not GLib's, e.g. a sanitizer
        report) is copied to log_path."""
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(os.path.join(JOURNAL_DIR, "stdout"))
        server, _ = self.stream.accept()
        server.setblocking(False)
        loop = asyncio.get_running_loop()

        def on_text():
            try:
                data = server.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                loop.remove_reader(server.fileno())
                server.close()
                return
            with open(log_path, "ab") as f:
                f.write(data)
        loop.add_reader(server.fileno(), on_text)
        self.logs.append(log_path)
        return client

    def since(self, mark, pred=lambda e: True):
        return [e for ts, e in self.entries[mark:] if pred(e)]

    def mark(self):
        return len(self.entries)


def start(journal, d, level="info"):
    """Starts stoxd (a st.Stoxd holding its config) with stderr on the journal."""
    client = journal.connect_stderr(d.log)
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    with open(d.log, "ab") as logf:
        d.proc = subprocess.Popen([st.STOXD, "-c", d.config, "--log-level=" + level],
                                  stdin=subprocess.DEVNULL, stdout=logf, stderr=client.fileno(),
                                  env=env, cwd=d.dir)
    client.close()
    d.started_at = time.monotonic()
    d.expect_exit = False
    return d


def prio(entry):
    try:
        return int(entry.get("PRIORITY", "-1"))
    except ValueError:
        return -1


def show(entries):
    return "\n".join("<%s> %s" % (e.get("PRIORITY"), e.get("MESSAGE")) for e in entries[-12:]) or "(none)"


async def main(t):
    journal = Journal()
    ua = await st.SipUA(t).start()

    # --- a failed start: the configuration error is err -------------------
    d = st.Stoxd(t, proxy_port=ua.port, overrides={("gateway", "xmpp-domains"): None}, name="stoxd-bad")
    mark = journal.mark()
    start(journal, d)
    d.expect_exit = True
    await st.wait_until(lambda: not d.running, 10)
    t.eq(d.proc.returncode if not d.running else None, st.EX_CONFIG, "bad configuration → exit 78")
    await st.wait_until(lambda: journal.since(mark, lambda e: "xmpp-domains" in e.get("MESSAGE", "")), 3)
    got = journal.since(mark, lambda e: "[gateway] xmpp-domains" in e.get("MESSAGE", ""))
    t.ok(got and all(prio(e) == LOG_ERR for e in got),
         "the failed start's configuration error reaches the journal at priority err (3)",
         show(journal.since(mark)))

    # --- a refused component secret is err --------------------------------
    pros = st.Prosody(t, secret="the right secret")
    await pros.start()
    d = st.Stoxd(t, prosody=pros, proxy_port=ua.port, secret="a wrong secret", name="stoxd-refused")
    mark = journal.mark()
    start(journal, d)

    def refused():
        return journal.since(mark, lambda e: "refused the component handshake" in e.get("MESSAGE", ""))
    await st.wait_until(refused, 15)
    got = refused()
    t.ok(got and all(prio(e) == LOG_ERR for e in got) and "[xmpp] secret" in got[0].get("MESSAGE", ""),
         "a component secret the server refuses → an err (3) entry naming [xmpp] secret",
         show(journal.since(mark)))
    rc, _ = await d.stop()
    t.eq(rc, 0, "stoxd-refused stops cleanly")
    await pros.stop()

    # --- a link that is down is warning; SIGUSR1 / SIGUSR2 -----------------
    d = st.Stoxd(t, proxy_port=ua.port, name="stoxd-down")   # nothing on its component port
    ua.peer = (st.LOOPBACK, d.sip_port)
    mark = journal.mark()
    start(journal, d)

    def down():
        return journal.since(mark, lambda e: "XMPP link to" in e.get("MESSAGE", "")
                             and " down: " in e.get("MESSAGE", ""))
    await st.wait_until(down, 10)
    got = down()
    t.ok(got and all(prio(e) == LOG_WARNING for e in got),
         "a component link that is down → warning (4) entries", show(journal.since(mark)))

    async def options_then_debug_count(m):
        tr = await ua.request("OPTIONS", d.sip_uri(), timeout=3)
        await asyncio.sleep(0.3)
        return tr.code, len(journal.since(m, lambda e: prio(e) == LOG_DEBUG))

    m = journal.mark()
    code, n = await options_then_debug_count(m)
    t.ok(code == 200 and n == 0, "at --log-level=info an OPTIONS logs nothing at debug (7)",
         "OPTIONS → %r; %d debug entries" % (code, n))

    m = journal.mark()
    d.signal(signal.SIGUSR1)
    await st.wait_until(lambda: journal.since(m, lambda e: "log level now debug" in e.get("MESSAGE", "")), 5)
    said = journal.since(m, lambda e: "log level now debug" in e.get("MESSAGE", ""))
    t.ok(d.running and said and prio(said[0]) == LOG_NOTICE,
         "SIGUSR1: stoxd keeps running and says at notice (5) that debug is on", show(journal.since(m)))
    m = journal.mark()
    code, n = await options_then_debug_count(m)
    t.ok(code == 200 and n > 0, "after SIGUSR1 an OPTIONS is logged at debug (7)",
         "OPTIONS → %r; %d debug entries" % (code, n))

    m = journal.mark()
    d.signal(signal.SIGUSR2)
    await st.wait_until(lambda: journal.since(m, lambda e: "log level back to info" in e.get("MESSAGE", "")), 5)
    said = journal.since(m, lambda e: "log level back to info" in e.get("MESSAGE", ""))
    t.ok(d.running and said, "SIGUSR2: back to the --log-level stoxd started with (info)", show(journal.since(m)))
    m = journal.mark()
    code, n = await options_then_debug_count(m)
    t.ok(code == 200 and n == 0, "after SIGUSR2 an OPTIONS logs nothing at debug again",
         "OPTIONS → %r; %d debug entries" % (code, n))

    rc, elapsed = await d.stop()
    t.ok(rc == 0, "stoxd-down stops cleanly (exit 0)", "exit %r after %.2f s" % (rc, elapsed))


st.run(main, timeout=90)
