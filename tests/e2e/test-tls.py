#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stoxd(8)–2, TLS: --check-config proves with OpenSSL that
tls-key belongs to tls-certificate (exit 78 naming the key otherwise); a
sips: listener answers OPTIONS over a real TLS connection."""

import asyncio
import os
import pty
import select
import signal
import ssl
import subprocess
import time

import sys
sys.dont_write_bytecode = True
import stoxtest as st  # noqa: E402


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)


def write_conf(path, rules, listen, cert, key):
    with open(path, "w") as f:
        f.write("[sip]\ndomain = sip.test\nlisten = %s\ntls-certificate = %s\ntls-key = %s\n"
                "[xmpp]\nsecret = x\nport = %d\n[gateway]\nrules = %s\nbounce-wait = 0\n"
                "xmpp-domains = %s\nstate-dir = %s\n"
                % (listen, cert, key, st.free_port(udp=False), rules, st.XMPP_DOMAIN,
                   os.path.join(os.path.dirname(path), "state")))
    os.chmod(path, 0o600)  # it holds the secret


def run_on_pty(argv, timeout):
    """Runs argv with a pseudo-terminal as its controlling terminal and
    stdio: (exit code or None when it had to be killed, output, seconds)."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    killed = False
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            killed = True
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:   # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    code = None if killed else os.waitstatus_to_exitcode(status)
    return code, out.decode("utf-8", "replace"), time.monotonic() - t0


async def main(t):
    d = st.make_tempdir("stox-tls-")
    rules = st.copy_rules(os.path.join(d, "rules.d"))
    cert, key, other = (os.path.join(d, n) for n in ("cert.pem", "key.pem", "other.pem"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sip.test",
            "-keyout", key, "-out", cert)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", other)
    port = st.free_port(udp=False)
    conf = os.path.join(d, "stox.conf")

    write_conf(conf, rules, "sips:127.0.0.1:%d" % port, cert, key)
    code, out = st.run_stoxd_sync(["-c", conf, "--check-config"])
    t.eq(code, 0, "matching tls-certificate/tls-key → --check-config exit 0", out)

    bad = os.path.join(d, "bad.conf")
    write_conf(bad, rules, "sips:127.0.0.1:%d" % port, cert, other)
    code, out = st.run_stoxd_sync(["-c", bad, "--check-config"])
    t.eq(code, 78, "a key of another certificate → exit 78", out)
    t.ok("[sip] tls-key" in out and "does not match" in out, "the message names [sip] tls-key", out)

    junk = os.path.join(d, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    write_conf(bad, rules, "sips:127.0.0.1:%d" % port, junk, key)
    code, out = st.run_stoxd_sync(["-c", bad, "--check-config"])
    t.ok(code == 78 and "[sip] tls-certificate" in out, "a file that is no certificate → 78 naming it", out)

    # An encrypted key: refused as a configuration error at once, never a
    # passphrase prompt on the terminal (run on a pty, where OpenSSL's own
    # prompt would wait for an answer).
    enc, enc_cert = os.path.join(d, "enc-key.pem"), os.path.join(d, "enc-cert.pem")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc",
            "-pass", "pass:not-told", "-out", enc)
    openssl("req", "-x509", "-key", enc, "-passin", "pass:not-told", "-days", "2", "-subj", "/CN=sip.test",
            "-out", enc_cert)
    write_conf(bad, rules, "sips:127.0.0.1:%d" % port, enc_cert, enc)
    for args, what in ((["--check-config"], "--check-config"), ([], "a start")):
        code, out, elapsed = run_on_pty([st.STOXD, "-c", bad] + args, 10)
        t.ok(code == 78 and "[sip] tls-key" in out and "encrypted" in out
             and "pass phrase" not in out.lower(),
             "encrypted tls-key: %s exits 78 naming [sip] tls-key, no passphrase prompt" % what,
             "exit %r after %.1f s: %r" % (code, elapsed, out))

    # The daemon itself refuses the mismatch at start-up, before listening.
    code, out = st.run_stoxd_sync(["-c", bad])
    t.eq(code, 78, "stoxd refuses to start with a broken TLS pair (78)", out)

    # A real TLS listener: OPTIONS over TLS → 200 with Allow.
    stoxd = st.Stoxd(t, overrides={("sip", "listen"): "sips:127.0.0.1:%d" % port,
                                   ("sip", "tls-certificate"): cert, ("sip", "tls-key"): key})
    stoxd.start()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reply = b""
    for _ in range(50):
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=ctx), 2)
            break
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            await asyncio.sleep(0.1)
    else:
        reader = writer = None
    t.ok(writer is not None, "TLS handshake with the sips: listener")
    if writer is not None:
        branch = "z9hG4bK" + st.rand_token(10)
        req = ("OPTIONS sip:sip.test SIP/2.0\r\n"
               "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=%s\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:alice@sip.test>;tag=%s\r\nTo: <sip:sip.test>\r\n"
               "Call-ID: %s@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
               % (branch, st.rand_token(6), st.rand_token(10)))
        writer.write(req.encode())
        await writer.drain()
        try:
            while b"\r\n\r\n" not in reply:
                chunk = await asyncio.wait_for(reader.read(4096), 5)
                if not chunk:
                    break
                reply += chunk
        except asyncio.TimeoutError:
            pass
        writer.close()
    text = reply.decode("utf-8", "replace")
    t.ok(text.startswith("SIP/2.0 200"), "OPTIONS over TLS → 200", text[:400])
    t.ok("MESSAGE" in text and "allow:" in text.lower(), "… with Allow", text[:400])


st.run(main, timeout=60)
