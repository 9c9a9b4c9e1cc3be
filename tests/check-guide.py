#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/deployment.md against the sources it describes.  TAP output.

- Troubleshooting: every message stoxd logs at warning or above
  (g_warning, g_critical, g_error in src/) has its text in the guide.  A
  message is found by the longest fixed piece of its format string, so a
  new warning fails this check until the guide says what it means.
- Snippets: every file in docs/examples/ is named by the guide, and a
  snippet the guide shows inline is that file's text without comments,
  line for line (the e2e tests load the files themselves).
"""

import os
import re
import sys

SRCDIR = os.environ.get("STOX_SRCDIR") or os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
GUIDE = os.path.join(SRCDIR, "docs", "deployment.md")
EXAMPLES = os.path.join(SRCDIR, "docs", "examples")

CALL = re.compile(r"\bg_(warning|critical|error)\s*\(\s*((?:\"(?:[^\"\\]|\\.)*\"\s*|G_\w+\s*)+)")
LITERAL = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|(G_\w+)")
CONVERSION = re.compile(r"%[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t)?[diouxXeEfgGaAcspn%]")
# inline snippets: the example file and the comment marker of its language
COMMENT = {".lua": "--", ".yml": "#", ".cfg": "#"}

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, name))
        return
    failed += 1
    print("not ok %d - %s" % (n, name))
    for line in (diag or "").splitlines():
        print("# " + line)


def messages():
    """[(file:line, level, longest fixed piece)] of every warning-or-worse
    log call whose format has a fixed text of its own."""
    out = []
    for root, _, files in os.walk(os.path.join(SRCDIR, "src")):
        for name in sorted(files):
            if not name.endswith(".c"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for m in CALL.finditer(text):
                fmt = ""
                for lit, macro in LITERAL.findall(m.group(2)):
                    fmt += "lu" if macro else lit   # G_GUINT64_FORMAT and kin follow a "%"
                pieces = [p.strip(" :;,'\"()") for p in CONVERSION.split(fmt)]
                longest = max(pieces, key=len) if pieces else ""
                where = "%s:%d" % (os.path.relpath(path, SRCDIR), text.count("\n", 0, m.start()) + 1)
                if len(longest) >= 6:
                    out.append((where, m.group(1), longest))
    return out


def code_blocks(text):
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)


def main():
    with open(GUIDE, encoding="utf-8") as f:
        guide = f.read()
    found = messages()
    ok(len(found) >= 10, "src/ has warning and error log calls to check (%d)" % len(found))
    for where, level, piece in found:
        ok(piece in guide, "the guide explains g_%s \"…%s…\" (%s)" % (level, piece, where),
           "add a line for it to docs/deployment.md, section Troubleshooting")

    blocks = [[line.rstrip() for line in b.splitlines() if line.strip()] for b in code_blocks(guide)]
    for name in sorted(os.listdir(EXAMPLES)):
        path = os.path.join(EXAMPLES, name)
        ok("examples/" + name in guide, "the guide names examples/%s" % name)
        marker = COMMENT.get(os.path.splitext(name)[1])
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip() for line in f if line.strip() and not line.lstrip().startswith(marker or "\0")]
        inline = [b for b in blocks if b and b[0] == lines[0]] if lines else []
        if name.endswith(".cfg"):
            continue   # a whole server configuration: named, not shown
        ok(inline and inline[0] == lines,
           "the snippet the guide shows for examples/%s is the file without its comments" % name,
           "file:  %r\nguide: %r" % (lines, inline[0] if inline else None))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
