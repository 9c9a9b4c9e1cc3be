#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""[metrics] listen (stox.conf(5), stoxd(8) METRICS), end to end: known
traffic through a real Prosody and a scripted SIP peer, /metrics scraped
before and after, and every counter must have moved by exactly what was
sent — the ones the traffic should not touch by exactly nothing — and each
latency histogram's count by the number of events of its kind.

  SIP -> XMPP: N MESSAGEs delivered (202), M bounced inside the window
  (carol offline, nobody unknown: service-unavailable -> the mapped code),
  K refused (From outside sip.test: 403; Request-URI domain not served:
  404).  XMPP -> SIP: one <message/> answered 200, one answered 486.
  Presence: a SIP watcher subscribes to bob and waits for his approval.

Also: the HTTP side (200 text/plain version=0.0.4, HEAD, 404, 405 with
Allow), counters unchanged by SIGHUP, a clean stop with a scrape
connection open, nothing listening when [metrics] is not configured,
--check-config warning about a listener that is not loopback, and the
Grafana dashboard (docs/grafana-stox.json) asking only for metrics that
exist."""

import asyncio
import http.client
import json
import os
import re
import signal

import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stoxtest as st  # noqa: E402

ALICE = "alice@" + st.COMPONENT
BOB_URI = "sip:bob@" + st.XMPP_DOMAIN
N_DELIVERED, BOUNCED_TO, REFUSED = 3, ("carol", "nobody"), 2
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): float} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError("not a sample line: %r" % line)
        labels = tuple(sorted((k, re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), v))
                              for k, v in LABEL_RE.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def show(k):
    name, labels = k
    return name + ("{%s}" % ",".join('%s="%s"' % kv for kv in labels) if labels else "")


def fetch(port, method="GET", path="/metrics", body=None, conn=None):
    """(status, {header: value}, body bytes); a blocking call for a thread."""
    c = conn or http.client.HTTPConnection(st.LOOPBACK, port, timeout=5)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    if conn is None:
        c.close()
    return r.status, headers, data


async def scrape(port):
    status, headers, body = await asyncio.to_thread(fetch, port)
    if status != 200:
        raise RuntimeError("GET /metrics -> %d" % status)
    return parse(body.decode("utf-8"))


def tcp_listeners(pid):
    """TCP ports the process `pid` listens on (its sockets in /proc/net)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.match(r"socket:\[(\d+)\]$", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:   # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def settled(port, pred, timeout=8.0):
    """The first scrape that satisfies pred() and equals the one 0.4 s
    before it (nothing in flight any more), or the last one."""
    last = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        now = await scrape(port)
        if now == last and pred(now):
            return now
        if loop.time() >= deadline:
            return now
        last = now
        await asyncio.sleep(0.4)


async def main(t):
    mport = st.free_port(udp=False)
    env = await st.Env.start(t, users=["bob", "carol"], online=["bob"],
                             stoxd_kw={"overrides": {("metrics", "listen"): "127.0.0.1:%d" % mport}})
    d, ua, bob = env.stoxd, env.ua, env.clients["bob"]
    rules = st.Rules(d.rules)
    t.ok(await st.wait_component(bob, 10), "component connected to Prosody (ping answered by it)")
    t.ok("metrics on http://127.0.0.1:%d/metrics" % mport in d.log_text(),
         "the start-up log names the metrics URL", d.log_tail(20))

    # --- HTTP ------------------------------------------------------------
    status, headers, body = await asyncio.to_thread(fetch, mport)
    t.ok(status == 200 and headers.get("content-type") == "text/plain; version=0.0.4; charset=utf-8"
         and body.startswith(b"# HELP stox_"),
         "GET /metrics -> 200, text/plain; version=0.0.4 (the Prometheus text format)",
         "%r %r %r" % (status, headers, body[:200]))
    t.ok("server" not in headers, "no Server header naming library versions", repr(headers))
    status, headers, body = await asyncio.to_thread(fetch, mport, "HEAD")
    t.ok(status == 200 and body == b"", "HEAD /metrics -> 200 without a body", "%r %r" % (status, body[:80]))
    for path in ("/", "/metrics/", "/metrics/x", "/metricsx", "/favicon.ico"):
        status, _, _ = await asyncio.to_thread(fetch, mport, "GET", path)
        t.eq(status, 404, "GET %s -> 404" % path)
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = await asyncio.to_thread(fetch, mport, method, "/metrics", b"x" * 100000)
        t.ok(status == 405 and headers.get("allow") == "GET, HEAD",
             "%s /metrics -> 405 with Allow: GET, HEAD" % method, "%r %r" % (status, headers))

    # --- known traffic ---------------------------------------------------
    def responder(req):
        if req.method == "MESSAGE" and req.body == b"are you busy?":
            return 486
        return 200
    ua.responder = responder
    code, where = rules.xmpp_to_sip("service-unavailable", 403)
    cond486, cwhere = rules.sip_to_xmpp(486, "recipient-unavailable")

    before = await scrape(mport)

    for i in range(N_DELIVERED):
        m = bob.mark()
        tr = await ua.message("bob@xmpp.test", "hello %d" % i)
        got = await bob.expect(lambda s, i=i: s.body == "hello %d" % i, start=m, timeout=3)
        t.ok(tr.code == 202 and got is not None, "MESSAGE %d to online bob -> 202 and delivered" % (i + 1),
             repr(tr))
    for user in BOUNCED_TO:
        tr = await ua.message("%s@xmpp.test" % user, "are you there?")
        t.eq(tr.code, code, "MESSAGE to %s -> %s inside the window (service-unavailable, %s)"
             % (user, code, where))
    tr = await ua.request("MESSAGE", BOB_URI, body="from elsewhere", content_type="text/plain",
                          from_uri="sip:mallory@evil.test")
    t.eq(tr.code, 403, "From outside sip.test -> 403")
    tr = await ua.message("bob@other.test", "elsewhere")
    t.eq(tr.code, 404, "Request-URI domain not served -> 404")

    mk = ua.mark()
    bob.send_message(ALICE, body="fine, thanks")
    req = await ua.wait_request("MESSAGE", timeout=5, start=mk)
    t.ok(req is not None, "bob -> alice@sip.test: a MESSAGE, answered 200")
    m = bob.mark()
    bob.send_message(ALICE, body="are you busy?")
    err = await bob.expect(lambda s: s.type == "error", start=m, timeout=5)
    t.ok(err is not None and err.error_condition()[0] == cond486,
         "bob -> alice@sip.test answered 486 -> <%s/> back to bob (%s)" % (cond486, cwhere), repr(err))

    mk = ua.mark()
    sub = await ua.request("SUBSCRIBE", BOB_URI, from_uri="sip:romeo@" + st.SIP_DOMAIN, omit=("contact",),
                           headers=[("Contact", "<sip:romeo@127.0.0.1:%d>" % ua.port), ("Event", "presence"),
                                    ("Expires", "600"), ("Accept", st.PIDF_CT),
                                    st.asserted("sip:romeo@" + st.SIP_DOMAIN)])
    notify = await ua.wait_request("NOTIFY", timeout=5, start=mk)
    t.ok(sub.code == 200 and notify is not None and st.substate(notify)[0] == "pending",
         "romeo SUBSCRIBEs to bob -> 200 and NOTIFY pending (answered 200)",
         repr(sub) + "\n" + (notify.text() if notify else "no NOTIFY"))

    def quiet(s):
        return (s.get(key("stox_messages_in_bounce_window"), 1) == 0
                and s.get(key("stox_messages_awaiting_response"), 1) == 0
                and s.get(key("stox_events_queued"), 1) == 0)
    after = await settled(mport, quiet)

    # --- every counter, exactly -----------------------------------------
    n_bounced, sent = len(BOUNCED_TO), N_DELIVERED + len(BOUNCED_TO)
    want = {
        key("stox_messages_total", direction="sip_to_xmpp", outcome="accepted"): N_DELIVERED,
        key("stox_messages_total", direction="sip_to_xmpp", outcome="bounced"): n_bounced,
        key("stox_messages_total", direction="sip_to_xmpp", outcome="refused"): REFUSED,
        key("stox_messages_total", direction="xmpp_to_sip", outcome="delivered"): 1,
        key("stox_messages_total", direction="xmpp_to_sip", outcome="bounced"): 1,
        key("stox_messages_forwarded_total", direction="sip_to_xmpp"): sent,
        key("stox_messages_forwarded_total", direction="xmpp_to_sip"): 2,
        key("stox_refused_total"): REFUSED,
        key("stox_sip_errors_received_total", code="486"): 1,
        key("stox_xmpp_errors_sent_total", condition=cond486): 1,
        key("stox_xmpp_errors_received_total", condition="service-unavailable"): n_bounced,
        # each front-end event once: requests (MESSAGEs, the SUBSCRIBE),
        # responses (two to MESSAGEs, one to the NOTIFY), stanzas (the
        # bounces, bob's two messages, and the unavailable presence with
        # which Prosody acknowledges the subscribe it passed on to bob:
        # mod_presence, "acknowledging receipt")
        key("stox_translation_latency_seconds_count", event="sip_request"): sent + REFUSED + 1,
        key("stox_translation_latency_seconds_count", event="sip_response"): 3,
        key("stox_translation_latency_seconds_count", event="stanza"): n_bounced + 2 + 1,
    }
    for c in (str(code), "403", "404"):
        want.setdefault(key("stox_sip_errors_sent_total", code=c), 0)
    want[key("stox_sip_errors_sent_total", code=str(code))] += n_bounced
    want[key("stox_sip_errors_sent_total", code="403")] += 1
    want[key("stox_sip_errors_sent_total", code="404")] += 1

    counters = sorted({k for k in list(after) + list(before)
                       if k[0].endswith("_total") or k[0].endswith("_count")})
    wrong = []
    for k in counters:
        moved = after.get(k, 0) - before.get(k, 0)
        if moved != want.get(k, 0):
            wrong.append("%s moved by %g, want %d" % (show(k), moved, want.get(k, 0)))
    missing = [show(k) for k in want if k not in after]
    t.ok(len(counters) > 60 and not wrong and not missing,
         "every one of the %d counters moved by exactly what was sent (%d named, the rest by 0)"
         % (len(counters), len(want)), "\n".join(wrong + ["absent: " + m for m in missing]))
    for k in sorted(want):
        if want[k]:
            t.diag("%s +%d" % (show(k), after.get(k, 0) - before.get(k, 0)))
    for kind in ("sip_request", "sip_response", "stanza"):
        inf = after.get(key("stox_translation_latency_seconds_bucket", event=kind, le="+Inf"), 0) - \
            before.get(key("stox_translation_latency_seconds_bucket", event=kind, le="+Inf"), 0)
        t.eq(inf, want[key("stox_translation_latency_seconds_count", event=kind)],
             "latency histogram {event=%s}: the +Inf bucket holds every event" % kind)

    def gauge(s, name, **labels):
        return s.get(key(name, **labels))
    t.eq(gauge(after, "stox_subscriptions", direction="sip_to_xmpp")
         - gauge(before, "stox_subscriptions", direction="sip_to_xmpp"), 1,
         "stox_subscriptions{direction=sip_to_xmpp}: one more (romeo's dialog on bob)")
    t.eq(gauge(after, "stox_watchers_pending"), 1, "stox_watchers_pending 1 (bob has not approved)")
    t.eq(gauge(after, "stox_xmpp_link_up"), 1, "stox_xmpp_link_up 1")
    t.ok(gauge(after, "stox_sip_transactions_in_flight", side="server") == 0
         and gauge(after, "stox_sip_transactions_in_flight", side="client") == 0,
         "no SIP transaction in flight once everything is answered")
    after = await settled(mport, lambda s: s.get(key("stox_store_write_backlog"), 1) == 0)
    t.eq(gauge(after, "stox_store_write_backlog"), 0, "the store's write backlog drains to 0")

    # bob approves: romeo's dialog is no longer pending
    bob.send_raw("<presence to='romeo@%s' type='subscribed'/>" % st.COMPONENT)
    approved = await settled(mport, lambda s: s.get(key("stox_watchers_pending")) == 0)
    t.ok(gauge(approved, "stox_watchers_pending") == 0
         and gauge(approved, "stox_subscriptions", direction="sip_to_xmpp")
         == gauge(after, "stox_subscriptions", direction="sip_to_xmpp"),
         "bob approves: stox_watchers_pending 0, the subscription still held")

    # --- SIGHUP: counters are never reset -------------------------------
    quiet_before = await settled(mport, lambda s: True)
    n_ready = len(d.notified("READY=1"))
    d.signal(signal.SIGHUP)
    await st.wait_until(lambda: len(d.notified("READY=1")) > n_ready, 5)
    reloaded = await scrape(mport)
    changed = [show(k) for k in quiet_before if (k[0].endswith("_total") or k[0].endswith("_count"))
               and reloaded.get(k) != quiet_before[k]]
    t.ok(len(d.notified("READY=1")) > n_ready and not changed,
         "SIGHUP reloads the rules and leaves every counter as it was", "changed: %r" % changed)

    # docs/grafana-stox.json: valid JSON, and every metric its queries use
    # is one stoxd serves
    with open(os.path.join(st.SRCDIR, "docs", "grafana-stox.json"), encoding="utf-8") as f:
        dashboard = json.load(f)
    exprs = [tg["expr"] for p in dashboard.get("panels", []) for tg in p.get("targets", [])]
    used = {name for e in exprs for name in re.findall(r"\bstox_[a-z_]+", e)}
    served = {k[0] for k in reloaded}
    t.ok(len(exprs) >= 8 and used and used <= served,
         "the Grafana dashboard's %d queries use only metrics stoxd serves (%d of them)" % (len(exprs), len(used)),
         "unknown: %r" % sorted(used - served))

    sample = await asyncio.to_thread(fetch, mport)
    t.diag("--- /metrics after the traffic (non-zero samples) ---")
    for line in sample[2].decode().splitlines():
        if not line.startswith("#") and not line.endswith(" 0"):
            t.diag(line)

    # --- what listens ---------------------------------------------------
    t.eq(tcp_listeners(d.proc.pid), {d.sip_port, mport},
         "stoxd with [metrics] listen: TCP listeners are the SIP port and the metrics port")
    plain = st.Stoxd(t, prosody=None, name="stoxd-plain")
    plain.start()
    await plain.wait_ready(15)
    t.eq(tcp_listeners(plain.proc.pid), {plain.sip_port},
         "stoxd without [metrics]: nothing listens but the SIP port (off by default)")
    rc, out = await st.run_stoxd(["-c", plain.config, "--check-config"])
    t.ok(rc == 0 and "[metrics]" not in out, "--check-config without [metrics]: OK, nothing said about it", out)
    await plain.stop()

    # --- --check-config --------------------------------------------------
    rc, out = await st.run_stoxd(["-c", d.config, "--check-config"], env={"MAINPID": "1"})
    t.ok(rc == 0 and "[metrics]" not in out, "--check-config with a loopback [metrics] listen: no warning", out)
    free = st.free_port(udp=False)
    for listen, what in (("0.0.0.0:%d" % free, "listens on every address of this host"),
                         ("[::]:%d" % free, "listens on every address of this host")):
        d.values[("metrics", "listen")] = listen
        path = d.write_config(os.path.join(d.dir, "exposed.conf"))
        rc, out = await st.run_stoxd(["-c", path, "--check-config"])
        t.ok(rc == 0 and ("warning: %s: [metrics] listen: '%s' %s" % (path, listen, what)) in out,
             "--check-config warns about [metrics] listen = %s (and still says OK)" % listen, out)
    d.values[("metrics", "listen")] = "metrics.example.com:%d" % free
    path = d.write_config(os.path.join(d.dir, "named.conf"))
    rc, out = await st.run_stoxd(["-c", path, "--check-config"])
    t.ok(rc == st.EX_CONFIG and "[metrics] listen: not an IP address" in out,
         "--check-config refuses a host name in [metrics] listen (exit 78)", out)

    # --- a clean stop with a scrape connection open --------------------
    conn = http.client.HTTPConnection(st.LOOPBACK, mport, timeout=5)
    status, _, _ = await asyncio.to_thread(fetch, mport, "GET", "/metrics", None, conn)
    t.eq(status, 200, "a kept-alive scrape connection is open")
    rc, elapsed = await d.stop()
    conn.close()
    t.ok(rc == 0 and elapsed < 5.0, "SIGTERM with a scrape connection open -> exit 0 within 5 s (%.2f s)"
         % elapsed, "rc=%r" % rc)


st.run(main)
