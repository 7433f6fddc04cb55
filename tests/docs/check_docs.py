#!/usr/bin/env python3
"""Checks that docs/ (and README.md) say what the code does.

  check_docs.py blocks ROOT BOTTLE EGRESS   code blocks: routes.yaml examples pass
                                            `bottle-egress --check`, manifest examples
                                            pass `bottle info`, `bottle` command lines
                                            name real verbs and flags
  check_docs.py events ROOT                 every log event and metric in the sources is
                                            in docs/reference/logs-and-metrics.md
  check_docs.py links ROOT                  every relative link points at a file
Prints one line per problem and exits 1 if there was any.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.M | re.S)
# Values for the host variables the examples name (never real credentials).
EXAMPLE_ENV = {
    "GITHUB_TOKEN": "example", "AWS_REGION": "eu-west-1", "INTERNAL_API_TOKEN": "example",
    "BOTTLE_CLAUDE_TOKEN": "example", "DB_PASSWORD": "example-password",
    **{f"EGRESS_TOKEN_{i}": "example" for i in range(10)},
}
problems = []


def pages(root):
    out = [os.path.join(root, "README.md")]
    for d, _, files in os.walk(os.path.join(root, "docs")):
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".md")]
    return out


def blocks(path):
    text = open(path, encoding="utf-8").read()
    for m in FENCE.finditer(text):
        info = m.group(1).split()
        lang = info[0] if info else ""
        title = next((w[6:] for w in info[1:] if w.startswith("title=")), "")
        line = text.count("\n", 0, m.start()) + 1
        yield lang, title, m.group(2), line


def run(argv, env_extra=None, home=None):
    env = dict(os.environ, **EXAMPLE_ENV, **(env_extra or {}))
    if home:
        env["BOTTLE_HOME"] = home
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def help_text(binary, words, cache={}):
    key = (binary, tuple(words))
    if key not in cache:
        r = run([binary, *words, "--help"])
        cache[key] = r.stdout if r.returncode == 0 else None
    return cache[key]


def check_command(where, binary, name, words):
    # The verb path: leading words that are subcommands (each has its own --help).
    path = []
    for w in words:
        if w.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", w):
            break
        if help_text(binary, path + [w]) is None:
            break
        path.append(w)
        if name == "bottle-egress":
            break
    if name == "bottle" and not path:
        problems.append(f"{where}: `{name} {' '.join(words)}`: no such command")
        return
    if name == "bottle-egress":
        path = []
    text = help_text(binary, path) or ""
    for w in words:
        flag = w.split("=")[0]
        if flag.startswith("--") and flag not in text:
            problems.append(f"{where}: `{name} {' '.join(path)}` has no flag {flag}")


def check_blocks(root, bottle, egress):
    routes = manifests = commands = 0
    for page in pages(root):
        rel = os.path.relpath(page, root)
        with tempfile.TemporaryDirectory() as home:
            agents, bottles = [], []
            for lang, title, body, line in blocks(page):
                where = f"{rel}:{line}"
                if lang == "yaml" and title.endswith("routes.yaml"):
                    f = os.path.join(home, "routes.yaml")
                    open(f, "w").write(body)
                    r = run([egress, "--check", "--config", f])
                    if r.returncode != 0:
                        problems.append(f"{where}: bottle-egress --check: {r.stderr.strip()}")
                    routes += 1
                elif lang == "markdown" and re.fullmatch(r"(agents|bottles)/[a-z][a-z0-9-]*\.md", title):
                    kind, name = title[:-3].split("/")
                    os.makedirs(os.path.join(home, kind), exist_ok=True)
                    open(os.path.join(home, title), "w").write(body)
                    (agents if kind == "agents" else bottles).append((name, where))
                elif lang in ("sh", "bash", "console"):
                    for n, cmd in enumerate(body.splitlines()):
                        cmd = cmd.strip().removeprefix("$ ")
                        words = shlex.split(cmd, comments=True) if cmd else []
                        if words and words[0] in ("bottle", "bottle-egress"):
                            binary = bottle if words[0] == "bottle" else egress
                            check_command(f"{rel}:{line + 1 + n}", binary, words[0], words[1:])
                            commands += 1
            # Every bottle is checked through an agent: the page's own, or one made here.
            used = set()
            for name, where in agents:
                text = open(os.path.join(home, "agents", name + ".md")).read()
                m = re.search(r"^bottle:\s*([a-z0-9-]+)", text, re.M)
                if m:
                    used.add(m.group(1))
            for name, where in bottles:
                if name not in used:
                    agent = f"docs-check-{name}"
                    open(os.path.join(home, "agents", agent + ".md") if os.path.isdir(
                        os.path.join(home, "agents")) else _mk(home, agent), "w").write(
                        f"---\nbottle: {name}\nprovider: command\ncommand: [\"true\"]\n---\n")
                    agents.append((agent, where))
            for name, where in agents:
                r = run([bottle, "info", name], home=home)
                if r.returncode != 0:
                    problems.append(f"{where}: bottle info {name}: {r.stderr.strip()}")
                manifests += 1
    print(f"checked {routes} routes.yaml examples, {manifests} manifests, {commands} command lines")


def _mk(home, agent):
    os.makedirs(os.path.join(home, "agents"), exist_ok=True)
    return os.path.join(home, "agents", agent + ".md")


def check_events(root):
    doc = open(os.path.join(root, "docs/reference/logs-and-metrics.md"), encoding="utf-8").read()
    call = re.compile(r'(?:log::(?:info|warn|error)|log::event\([^,]+,)\(?\s*"([a-z_]+)"')
    metric = re.compile(r'"((?:egress|gitgate)_[a-z_]+(?:_total|_connections|_children|_bytes|_retained|_seconds))')
    found = set()
    for comp in ("proxy", "gitgate", "supervise", "init"):
        for d, _, files in os.walk(os.path.join(root, comp)):
            for f in files:
                if f.endswith(".cc"):
                    text = open(os.path.join(d, f), encoding="utf-8").read()
                    found |= {("event", e) for e in call.findall(text)}
                    if f == "metrics.cc":
                        found |= {("metric", m) for m in metric.findall(text)}
    for kind, name in sorted(found):
        if f"`{name}`" not in doc:
            problems.append(f"docs/reference/logs-and-metrics.md: {kind} `{name}` is not documented")
    print(f"checked {len(found)} events and metrics")


def check_links(root):
    link = re.compile(r"\]\(([^)\s]+)\)")
    n = 0
    for page in pages(root):
        text = open(page, encoding="utf-8").read()
        for target in link.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            n += 1
            path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
            if not os.path.exists(path):
                problems.append(f"{os.path.relpath(page, root)}: link to {target}: no such file")
    print(f"checked {n} links")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "blocks" and len(sys.argv) == 5:
        check_blocks(*sys.argv[2:])
    elif what == "events" and len(sys.argv) == 3:
        check_events(sys.argv[2])
    elif what == "links" and len(sys.argv) == 3:
        check_links(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
