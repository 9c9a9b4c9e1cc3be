#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""stox.conf(5) [sip] tls-ca-file, RFC 5922 §7.3: a TLS server stoxd
connects to (here the sips: outbound proxy) must prove who it is before a
MESSAGE reaches it: a certificate chain to a CA stoxd trusts, and the
host stoxd asked for among its names.  A self-signed CN=evil.example
server, and one signed by the trusted CA for another name, get nothing but
the handshake; bob gets an error.  The same proxy with a certificate for
127.0.0.1 from that CA gets the MESSAGE (the control)."""

import os
import socket
import ssl
import subprocess
import threading

import sys
sys.dont_write_bytecode = True
import stoxtest as st  # noqa: E402

ALICE = "alice@" + st.COMPONENT


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)


def self_signed(d, name, subject):
    key, cert = os.path.join(d, name + "-key.pem"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subject,
            "-keyout", key, "-out", cert)
    return cert, key


def signed_by(d, ca, name, subject, san):
    """A certificate for `san` (subjectAltName), signed by the CA `ca`."""
    key, csr, cert = (os.path.join(d, name + s) for s in ("-key.pem", ".csr", ".pem"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName = %s\nbasicConstraints = CA:FALSE\n" % san)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", cert)
    return cert, key


class TlsProxy:
    """A TLS server on a loopback port (threads, blocking sockets) that
    counts the connections made to it, records the bytes they deliver after
    the handshake, and answers 200 to each SIP request it reads."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((st.LOOPBACK, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ctx = None
        self.received = b""
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def serve(self, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*cert)
        self.ctx = ctx
        self.received = b""
        self.connections = 0

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.connections += 1
            threading.Thread(target=self._client, args=(conn, self.ctx), daemon=True).start()

    def _client(self, conn, ctx):
        conn.settimeout(30)
        buf = b""
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                while True:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    self.received += chunk
                    buf += chunk
                    while b"\r\n\r\n" in buf:
                        head, _, rest = buf.partition(b"\r\n\r\n")
                        lines = head.decode("utf-8", "replace").split("\r\n")
                        clen = 0
                        keep = []
                        for line in lines[1:]:
                            name = line.split(":", 1)[0].strip().lower()
                            if name in ("content-length", "l"):
                                clen = int(line.split(":", 1)[1])
                            if name in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"):
                                keep.append(line)
                        if len(rest) < clen:
                            break
                        buf = rest[clen:]
                        if not lines[0].startswith("SIP/2.0"):
                            reply = "SIP/2.0 200 OK\r\n" + "".join(k + "\r\n" for k in keep)
                            tls.sendall((reply + "Content-Length: 0\r\n\r\n").encode())
        except (OSError, ssl.SSLError, ValueError):
            conn.close()

    def close(self):
        self.stopping = True
        self.sock.close()


async def main(t):
    d = st.make_tempdir("stox-tls-verify-")
    gw_cert, gw_key = self_signed(d, "gateway", "/CN=sip.test")
    ca = self_signed(d, "ca", "/CN=stox test CA")
    evil = self_signed(d, "evil", "/CN=evil.example")
    other = signed_by(d, ca, "other", "/CN=evil.example", "DNS:evil.example")
    # Sofia-SIP 1.12.11 compares the host with the certificate's DNS
    # names and its CN (not its IP addresses)
    good = signed_by(d, ca, "good", "/CN=127.0.0.1", "IP:127.0.0.1")

    # --check-config reads the CA file with OpenSSL.
    junk = os.path.join(d, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    conf = os.path.join(d, "stox.conf")
    with open(conf, "w") as f:
        f.write("[sip]\ndomain = sip.test\nlisten = sips:127.0.0.1:%d\ntls-certificate = %s\n"
                "tls-key = %s\ntls-ca-file = %s\n[xmpp]\nsecret = x\n[gateway]\nrules = %s\n"
                "xmpp-domains = %s\nstate-dir = %s\n"
                % (st.free_port(udp=False), gw_cert, gw_key, junk,
                   st.copy_rules(os.path.join(d, "rules.d")), st.XMPP_DOMAIN, os.path.join(d, "state")))
    os.chmod(conf, 0o600)
    code, out = st.run_stoxd_sync(["-c", conf, "--check-config"])
    t.ok(code == 78 and "[sip] tls-ca-file" in out, "a tls-ca-file without certificates → exit 78 "
         "naming [sip] tls-ca-file", out)

    proxy = TlsProxy()
    st._add_cleanup(proxy.close)
    sip_port = st.free_port(udp=False)
    env = await st.Env.start(t, users=["bob"], online=["bob"], stoxd_kw={
        "sip_port": sip_port,
        "overrides": {("sip", "listen"): "sips:127.0.0.1:%d" % sip_port,
                      ("sip", "outbound-proxy"): "sips:127.0.0.1:%d;lr" % proxy.port,
                      ("sip", "tls-certificate"): gw_cert, ("sip", "tls-key"): gw_key,
                      ("sip", "tls-ca-file"): ca[0]}})
    bob = env.clients["bob"]
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody")

    async def one_message(cert, body, refused=True):
        """Serves `cert`, has bob write to alice; bob's error stanza or None."""
        proxy.serve(cert)
        m = bob.mark()
        bob.send_message(ALICE, body=body)
        if refused:
            # the stack's own failure: at once, or Timer F (32 s) at worst
            return await bob.expect(lambda s: s.type == "error", start=m, timeout=40)
        await st.wait_until(lambda: body.encode() in proxy.received, 10)
        return await bob.expect(lambda s: s.type == "error", start=m, timeout=2)

    err = await one_message(evil, "secret for evil")
    t.ok(proxy.connections > 0 and b"secret" not in proxy.received and b"MESSAGE" not in proxy.received,
         "a self-signed CN=evil.example proxy gets no MESSAGE (%d connections, %d bytes after "
         "the handshake)" % (proxy.connections, len(proxy.received)), proxy.received[:300])
    t.ok(err is not None, "… and bob gets an error for it", repr(err))

    err = await one_message(other, "secret for the wrong name")
    t.ok(proxy.connections > 0 and b"secret" not in proxy.received and b"MESSAGE" not in proxy.received,
         "a proxy whose certificate the trusted CA made for another name gets no MESSAGE "
         "(%d connections, %d bytes)" % (proxy.connections, len(proxy.received)), proxy.received[:300])
    t.ok(err is not None, "… and bob gets an error for it", repr(err))

    err = await one_message(good, "hello, proxy", refused=False)
    t.ok(b"MESSAGE sip:alice@sip.test" in proxy.received and b"hello, proxy" in proxy.received,
         "the proxy with the trusted CA's certificate for 127.0.0.1 gets the MESSAGE",
         proxy.received[:300])
    t.ok(err is None, "… answered 200: no error for bob", repr(err))

    # The default is the system's CAs: the test CA is not among them.
    await env.stoxd.stop()
    del env.stoxd.values[("sip", "tls-ca-file")]
    env.stoxd.write_config()
    env.stoxd.start()
    await env.stoxd.wait_ready(15)
    t.ok(await st.wait_component(bob, 15), "restarted without tls-ca-file")
    err = await one_message(good, "secret without tls-ca-file")
    t.ok(proxy.connections > 0 and b"secret" not in proxy.received,
         "without tls-ca-file (the system's CAs), the same proxy gets no MESSAGE",
         proxy.received[:300])
    t.ok(err is not None, "… and bob gets an error for it", repr(err))


st.run(main, timeout=240)
