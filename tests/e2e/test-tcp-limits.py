#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stox.conf(5) [sip] tcp-*: connections peers open to stoxd are limited.
stoxd runs with few file descriptors (prlimit, as LimitNOFILE would) and
200 TCP connections arrive from 20 addresses: stoxd keeps only what leaves
its descriptor reserve free, does not spin, still answers SIP, and its
component link comes back after Prosody restarts; one address cannot hold
more than tcp-max-connections-per-source; silent connections are closed
after tcp-idle-timeout, a Content-Length never filled after
tcp-message-timeout."""

import asyncio
import errno
import os
import socket
import time

import sys
sys.dont_write_bytecode = True
import stoxtest as st  # noqa: E402

NOFILE = 160
RESERVE = 64        # STOX_SIP_FD_RESERVE
PER_SOURCE = 16
IDLE = 10
MESSAGE_TIMEOUT = 1


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(2)
    s.connect((st.LOOPBACK, port))
    s.setblocking(False)
    return s


def closed(s):
    """Has stoxd closed it?  Reads (and drops) what is there."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError as e:
        return e.errno != errno.EAGAIN


def fds_of(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(t):
    password = "pw-" + st.rand_token(6)
    prosody = st.Prosody(t)
    await prosody.start()
    await prosody.register_async("bob", password)
    ua = await st.SipUA(t).start()
    d = st.Stoxd(t, prosody=prosody, proxy_port=ua.port, overrides={
        ("sip", "tcp-max-connections-per-source"): str(PER_SOURCE),
        ("sip", "tcp-idle-timeout"): str(IDLE),
        ("sip", "tcp-message-timeout"): str(MESSAGE_TIMEOUT)})
    d.prefix = ["/usr/bin/prlimit", "--nofile=%d:%d" % (NOFILE, NOFILE), "--"]
    d.start()
    ua.peer = (st.LOOPBACK, d.sip_port)
    await d.wait_ready(15, ua=ua)
    bob = await st.XmppClient(t, prosody, "bob", password).connect()
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody")
    pid = d.proc.pid
    base = fds_of(pid)

    # --- 200 connections from 20 addresses, 10 each -----------------------
    conns = []
    opened = time.monotonic()
    for i in range(200):
        conns.append(connect_from("127.0.0.%d" % (10 + i // 10), d.sip_port))
        if i % 10 == 9:
            await asyncio.sleep(0.02)
    await asyncio.sleep(1.0)
    shut = sum(1 for s in conns if closed(s))
    held = fds_of(pid)
    t.ok(0 < shut < 200 and held <= NOFILE - RESERVE + 2,
         "200 connections, %d file descriptors: stoxd holds %d descriptors (%d at start), "
         "%d connections closed, %d kept" % (NOFILE, held, base, shut, 200 - shut))

    cpu0 = cpu_seconds(pid)
    await asyncio.sleep(2.0)
    cpu = cpu_seconds(pid) - cpu0
    t.ok(cpu < 0.5, "stoxd does not spin meanwhile (%.2f s of CPU in 2 s)" % cpu)

    tr = await ua.request("OPTIONS", d.sip_uri())
    t.eq(tr.code, 200, "SIP over UDP still answered")

    # --- the component link comes back -----------------------------------
    await prosody.stop()
    bob.abort()
    await asyncio.sleep(1.0)
    await prosody.start()
    bob = await st.XmppClient(t, prosody, "bob", password, resource="back").connect()
    delivered, took, codes = await st.wait_delivery(ua, bob, "after restart", 20)
    t.ok(delivered is not None, "Prosody restarted: the component reconnects and a MESSAGE is "
         "delivered (%.1f s)" % took, "answers while waiting: %r" % codes)

    # --- idle connections are closed -------------------------------------
    kept = [s for s in conns if not closed(s)]
    t.ok(len(kept) > 0 and time.monotonic() - opened < IDLE - 1,
         "%d connections still held %.1f s after they were opened" % (len(kept), time.monotonic() - opened))
    ok = await st.wait_until(lambda: all(closed(s) for s in kept), IDLE + 4, interval=0.2)
    elapsed = time.monotonic() - opened
    t.ok(ok and elapsed > IDLE - 1, "every silent connection closed after tcp-idle-timeout = %d s "
         "(%.1f s after opening)" % (IDLE, elapsed), "%d still open" % sum(1 for s in kept if not closed(s)))
    for s in conns:
        s.close()
    await asyncio.sleep(0.5)

    # --- one address: tcp-max-connections-per-source ---------------------
    conns = [connect_from("127.0.0.50", d.sip_port) for _ in range(PER_SOURCE + 4)]
    await asyncio.sleep(1.0)
    shut = [i for i, s in enumerate(conns) if closed(s)]
    t.eq(len(shut), 4, "%d connections from one address: the last 4 closed (%r)"
         % (PER_SOURCE + 4, shut))
    for s in conns:
        s.close()

    # --- a Content-Length never filled -----------------------------------
    s = connect_from("127.0.0.51", d.sip_port)
    s.send(("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.51;branch=z9hG4bK-lie\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:alice@sip.test>;tag=x\r\nTo: <sip:sip.test>\r\n"
            "Call-ID: lie@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 100\r\n\r\nabc"
            % st.SIP_DOMAIN).encode())
    t0 = time.monotonic()
    ok = await st.wait_until(lambda: closed(s), MESSAGE_TIMEOUT + 2, interval=0.1)
    t.ok(ok and time.monotonic() - t0 < IDLE,
         "Content-Length 100 with a 3-byte body: closed after %.1f s (tcp-message-timeout = %d s)"
         % (time.monotonic() - t0, MESSAGE_TIMEOUT))
    s.close()
    t.ok(d.running, "stoxd still running")


st.run(main, timeout=120)
