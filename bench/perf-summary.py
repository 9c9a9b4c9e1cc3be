#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Where stoxd's CPU goes, from a `perf record -g --call-graph dwarf` file
(bench/README.md, "Profile"; `BENCH_PERF=1 bench/bench-load.sh` writes them
to bench/_build/load/perf-<row>-stox.data).

    bench/perf-summary.py bench/_build/load/perf-*-stox.data

Each sample goes to the first of the categories below whose function is on
its stack (the first one matched by the sample's own address, for the
Sofia loop that has no symbol), and the table shows the share of samples
per category, how much of it was spent inside glibc's allocator and inside
the kernel.  Debian's libsofia-sip-ua is stripped of its static functions:
the Timer E re-insertion loop of nta.c (outgoing_set_timer(), inlined twice
into _nta_outgoing_timer()) is recognised by its address in the build named
by SOFIA_BUILD_ID, found by disassembling that loop and matching it against
nta.c (`while (*rq && (int32_t)((*rq)->orq_retry - orq->orq_retry) <= 0)
rq = &(*rq)->orq_rnext;`).  With another build those samples fall into
"nta agent timer, the rest".
"""
import collections
import subprocess
import sys

SOFIA = "libsofia-sip-ua.so"
# Debian 12 libsofia-sip-ua0 1.12.11+20110422.1+1e14eea~dfsg-6
SOFIA_BUILD_ID = "75b3883a441f0e3e99809890c233a02d94d65f78"
SOFIA_WALK = ((0x9cf50, 0x9cf6b), (0x9d630, 0x9d64b))

WALK = "nta: Timer E re-insertion walk (outgoing_set_timer, nta.c)"
CATEGORIES = [
    ("nta agent timer, the rest (Timer J frees, retransmissions, timeouts)", ["su_timer_expire"]),
    ("bounce-wait timer -> 202 (nta_incoming_treply builds the response)", ["timer_dispatch"]),
    ("XMPP in: stanza -> core -> SIP request (on_strophe_stanza)", ["on_strophe_stanza"]),
    ("XMPP out: stanza encode + send (stox_xmpp_component_send)", ["stox_xmpp_component_send"]),
    ("SIP parse (msg_extract)", ["msg_extract"]),
    ("stoxd's SIP request handling, core included (on_leg_request)", ["on_leg_request"]),
    ("nta: retransmissions absorbed, responses, the rest of tport_deliver", ["tport_deliver"]),
    ("SIP receive (tport_recv_event)", ["tport_recv_event"]),
    ("libstrophe I/O (xmpp_run_once)", ["xmpp_run_once"]),
    ("SQLite (the state store)", ["sqlite3_step"]),
]
ALLOC = {"_int_malloc", "malloc", "__GI___libc_malloc", "_int_free", "cfree@GLIBC_2.2.5",
         "__libc_calloc", "unlink_chunk.constprop.0", "malloc_consolidate", "__GI___libc_free",
         "tcache_put", "_int_free_merge_chunk", "sysmalloc", "__libc_free", "free", "realloc",
         "_int_realloc", "calloc"}


def build_ids(path):
    out = subprocess.run(["perf", "buildid-list", "-i", path], capture_output=True, text=True).stdout
    return {line.split(None, 1)[1]: line.split(None, 1)[0] for line in out.splitlines() if " " in line}


def samples(path):
    """Each sample as a list of (address, symbol, dso), the leaf first."""
    out = subprocess.Popen(["perf", "script", "-i", path, "-F", "comm,ip,sym,dso"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    cur = []
    for line in out.stdout:
        line = line.rstrip("\n")
        if not line.strip() or line[0] not in " \t":
            if cur:
                yield cur
            cur = []
            continue
        parts = line.split()
        if len(parts) >= 3:
            cur.append((parts[0], parts[1], parts[-1]))
    if cur:
        yield cur
    out.wait()


def summary(path):
    walk_known = any(SOFIA in dso and bid == SOFIA_BUILD_ID for dso, bid in build_ids(path).items())
    count, alloc, kernel = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for s in samples(path):
        total += 1
        ip, sym, dso = s[0]
        cat = "other (GLib dispatch, poll, ...)"
        if walk_known and SOFIA in dso and sym == "[unknown]" and \
                any(lo <= int(ip, 16) <= hi for lo, hi in SOFIA_WALK):
            cat = WALK
        else:
            names = {x[1] for x in s}
            for name, keys in CATEGORIES:
                if names.intersection(keys):
                    cat = name
                    break
        count[cat] += 1
        if sym in ALLOC:
            alloc[cat] += 1
        if "kernel.kallsyms" in dso:
            kernel[cat] += 1
    print("== %s: %d samples%s" % (path, total, "" if walk_known else
                                    " (unknown libsofia-sip-ua build: no walk category)"))
    if not total:
        return
    print("%6s %7s %7s  %s" % ("share", "malloc", "kernel", "where"))
    for cat, n in count.most_common():
        print("%5.1f%% %6.1f%% %6.1f%%  %s" % (100.0 * n / total, 100.0 * alloc[cat] / total,
                                              100.0 * kernel[cat] / total, cat))
    print("%5.1f%% %6.1f%% %6.1f%%  all" % (100.0, 100.0 * sum(alloc.values()) / total,
                                           100.0 * sum(kernel.values()) / total))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench/perf-summary.py PERF.DATA...")
    for path in sys.argv[1:]:
        summary(path)


if __name__ == "__main__":
    main()
