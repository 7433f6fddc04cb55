#!/usr/bin/env python3
"""Builds the benign DLP corpus: real text that no one wrote to pass our tests.

    bench/dlp/make_benign_corpus.py OUT_DIR [--mb-per-kind N]

Everything comes from what Debian installs on this machine (nothing is downloaded):
  doc/      /usr/share/doc, gzipped files decompressed, binary files skipped
  man/      man pages rendered to plain text (man -l | col -b)
  include/  /usr/include
  python/   the Python standard library and dist-packages sources (*.py)
  json/     package metadata as JSON: apt's Packages index as API-style JSON pages,
            dpkg's status database, and every package.json under /usr/share/nodejs
  html/     HTML documentation under /usr/share/doc, plus this repository's Markdown
            documents rendered to HTML
Each kind is capped (default 80 MB) so the whole corpus is about 300 MB. The corpus is
not checked in; bench_dlp_corpus scans it (see tests/dlp/README.md).
"""
import argparse
import glob
import gzip
import html
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Sink:
    """Writes files of one kind until its byte budget is spent."""

    def __init__(self, root, kind, budget):
        self.dir = os.path.join(root, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.budget = budget
        self.used = 0
        self.count = 0

    def full(self):
        return self.used >= self.budget

    def write(self, name, data):
        if self.full() or not data:
            return
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip("/"))[-180:]
        with open(os.path.join(self.dir, f"{self.count:06d}_{safe}"), "wb") as f:
            f.write(data)
        self.used += len(data)
        self.count += 1


def is_text(data):
    return b"\0" not in data[:8192]


def read_maybe_gz(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return b""
    return data


def files_under(root, pattern="*"):
    out = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p) and glob.fnmatch.fnmatch(n, pattern):
                out.append(p)
    return sorted(out)


def add_doc(sink):
    for p in files_under("/usr/share/doc"):
        if sink.full():
            return
        if p.endswith((".html", ".htm")):
            continue  # html/ has them
        data = read_maybe_gz(p)
        if is_text(data):
            sink.write(p, data)


def add_man(sink):
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0")
    for section in ("man1", "man8", "man5", "man7", "man3"):
        for p in files_under(f"/usr/share/man/{section}"):
            if sink.full():
                return
            try:
                r = subprocess.run(f"man -l {shlex_quote(p)} 2>/dev/null | col -b", shell=True, env=env,
                                   capture_output=True, timeout=20)
            except subprocess.TimeoutExpired:
                continue
            if r.stdout:
                sink.write(p, r.stdout)


def shlex_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def add_include(sink):
    for p in files_under("/usr/include"):
        if sink.full():
            return
        data = read_maybe_gz(p)
        if is_text(data):
            sink.write(p, data)


def add_python(sink):
    roots = sorted(glob.glob("/usr/lib/python3.*")) + ["/usr/lib/python3/dist-packages"]
    for root in roots:
        for p in files_under(root, "*.py"):
            if sink.full():
                return
            sink.write(p, read_maybe_gz(p))


def packages_index():
    for path in sorted(glob.glob("/var/lib/apt/lists/*_Packages*")):
        r = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], capture_output=True)
        if r.returncode == 0:
            yield path, r.stdout.decode("utf-8", "replace")


def stanzas(text):
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields


def add_json(sink):
    # apt's index as pages of an imaginary package API: 200 packages per response.
    for path, text in packages_index():
        page, n = [], 0
        for fields in stanzas(text):
            page.append(fields)
            if len(page) == 200:
                sink.write(f"{os.path.basename(path)}_{n}.json",
                           json.dumps({"page": n, "packages": page}, indent=1).encode())
                page, n = [], n + 1
            if sink.full():
                return
        if page:
            sink.write(f"{os.path.basename(path)}_{n}.json", json.dumps({"page": n, "packages": page}).encode())
    with open("/var/lib/dpkg/status", encoding="utf-8", errors="replace") as f:
        sink.write("dpkg_status.json", json.dumps(list(stanzas(f.read()))).encode())
    for root in ("/usr/share/nodejs", "/usr/lib/node_modules", "/usr/share/javascript"):
        for p in files_under(root, "package.json"):
            sink.write(p, read_maybe_gz(p))


def markdown_to_html(md, title):
    """Just enough Markdown for real-looking pages: headings, lists, code, links."""
    out = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
           "<style>nav{display:none} pre{background:#f6f8fa}</style></head><body>",
           "<nav><a href=\"/\">Home</a></nav>", "<main>"]
    in_code, in_list, para = False, False, []

    def inline(s):
        s = html.escape(s, quote=False)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
        return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', s)

    def flush():
        nonlocal para
        if para:
            out.append("<p>" + inline(" ".join(para)) + "</p>")
            para = []

    for line in md.split("\n"):
        if line.startswith("```"):
            flush()
            out.append("</code></pre>" if in_code else "<pre><code>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        m = re.match(r"(#{1,6}) (.*)", line)
        if m:
            flush()
            n = len(m.group(1))
            out.append(f"<h{n}>{inline(m.group(2))}</h{n}>")
        elif re.match(r"\s*[-*] ", line):
            flush()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append("<li>" + inline(re.sub(r"^\s*[-*] ", "", line)) + "</li>")
        elif not line.strip():
            flush()
            if in_list:
                out.append("</ul>")
                in_list = False
        else:
            para.append(line.strip())
    flush()
    out.append("</main><!-- generated by make_benign_corpus.py --></body></html>\n")
    return "\n".join(out)


def add_html(sink):
    for p in files_under("/usr/share/doc"):
        if p.endswith((".html", ".htm", ".html.gz")):
            data = read_maybe_gz(p)
            if is_text(data):
                sink.write(p, data)
    for p in files_under(REPO, "*.md"):
        if "/build" in p or "/.git/" in p or "/node_modules/" in p or "/corpus/malicious/" in p:
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            sink.write(os.path.relpath(p, REPO) + ".html", markdown_to_html(f.read(), p).encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--mb-per-kind", type=int, default=80)
    args = ap.parse_args()
    budget = args.mb_per_kind << 20
    total = 0
    for kind, fill in (("doc", add_doc), ("include", add_include), ("python", add_python), ("json", add_json),
                       ("html", add_html), ("man", add_man)):
        sink = Sink(args.out, kind, budget)
        fill(sink)
        print(f"{kind}: {sink.count} files, {sink.used / 1e6:.1f} MB", flush=True)
        total += sink.used
    print(f"total: {total / 1e6:.1f} MB in {args.out}")
    if total < 200e6:
        print("make_benign_corpus: less than 200 MB of text found on this machine", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
