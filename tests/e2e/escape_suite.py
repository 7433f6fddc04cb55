#!/usr/bin/env python3
"""SPEC §10 sandbox-escape acceptance suite, host side. Standard library only.

  escape_suite.py run --bottle PATH --out results.json [--backend local|vm]
      One live bottle (the local backend, or --backend vm) with planted secrets: a loopback upstream that
      records every request it gets, a loopback listener on the host, and one
      `bottle run` executing attacks.py inside the bottle. Writes what the attacker
      printed and what the host saw to results.json. Exits 0 even when attacks succeed:
      judging is the `check` step's job, so every attack is its own ctest test.
  escape_suite.py check ATTACK --results results.json
      Judges one attack: exit 0 (every attempt failed for the attacker), 1 (an escape
      or a broken run), 77 (skipped, with the reason).
"""
import argparse
import base64
import fcntl
import json
import os
import random
import select
import shlex
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
import loopback  # noqa: E402  (shared with bench/soak/soak.py)
SKIP = 77
# Under CI every test must run: a skip for want of root or a tool is a failure there.
IN_CI = os.environ.get("CI") == "true"
RUN_TIMEOUT = 150  # seconds for the whole `bottle run`
# A TCG guest runs the same python several times slower; attacks.py runs its attacks
# concurrently, so waits overlap. One vCPU: with two, a loaded host's TCG guest panicked
# at boot ("IO-APIC + timer doesn't work").
RUN_TIMEOUT_VM = 480
# State files bigger than this (binaries reached through links, a copied hook) are not kept
# whole in results.json: only the stretches around a secret, which is all `check` reads.
STATE_FILE_KEEP = 1 << 20

# --- secrets --------------------------------------------------------------------------

def base62_fixed(value, width):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ["0"] * width
    for i in range(width - 1, -1, -1):
        if value == 0:
            break
        out[i] = alphabet[value % 62]
        value //= 62
    return "".join(out)


def fake_github_token(rng):
    """A GitHub classic PAT shape with a valid CRC32 tail (the detector checks it)."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    body = "".join(rng.choice(alnum) for _ in range(30))
    return "ghp_" + body + base62_fixed(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


def hide(s):
    """Reversed + hex: the attacker decodes it in memory, no file holds it in clear."""
    return s[::-1].encode().hex()


# --- host-side observers -----------------------------------------------------------------

class Upstream:
    """Loopback upstream that records every request line, header and body: plain HTTP on
    `port`, and HTTPS on `tls_port` with a certificate for allowed.test from its own CA
    (egress is told to trust it with the manifest's `upstream_ca`)."""

    def __init__(self, tls_files=None):
        self.requests = []
        self.connections = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def parse_request(self):
                with lock:
                    outer.requests.append({"raw": self.raw_requestline.decode("latin-1"),
                                           "tls": isinstance(self.connection, ssl.SSLSocket)})
                return super().parse_request()

            def handle_any(self):
                if (self.headers.get("Upgrade") or "").lower() == "websocket":
                    return self.websocket()
                body = self.read_body().decode("latin-1")
                with lock:
                    outer.requests[-1].update({"method": self.command, "path": self.path,
                                               "headers": dict(self.headers.items()),
                                               "body": body})
                # Never echo the Authorization back: the agent must not learn the token.
                out = json.dumps({"ok": True, "path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def websocket(self):
                """Accepts the upgrade, records every frame's payload, echoes "ok"."""
                record = {"method": self.command, "path": self.path,
                          "headers": dict(self.headers.items()), "ws_frames": []}
                with lock:
                    outer.requests[-1].update(record)
                    record = outer.requests[-1]
                loopback.accept_websocket(self)
                self.close_connection = True
                while True:
                    head = self.rfile.read(2)
                    if len(head) < 2:
                        return
                    n = head[1] & 0x7F
                    if n == 126:
                        n = int.from_bytes(self.rfile.read(2), "big")
                    elif n == 127:
                        n = int.from_bytes(self.rfile.read(8), "big")
                    mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
                    with lock:
                        record["ws_frames"].append(data.decode("latin-1"))
                    if head[0] & 0x0F == 8:  # close
                        return
                    self.wfile.write(b"\x81\x02ok")
                    self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request, client_address):
                with lock:
                    outer.connections += 1
                super().process_request(request, client_address)

        self.servers = [Server(("127.0.0.1", 0), Handler)]
        self.port = self.servers[0].server_address[1]
        self.tls_port = None
        if tls_files:
            tls = Server(("127.0.0.1", 0), Handler)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls_files)
            tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
            self.servers.append(tls)
            self.tls_port = tls.server_address[1]
        for srv in self.servers:
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def stop(self):
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


def mint_upstream_pki(d):
    """A CA and an allowed.test certificate (openssl CLI): the HTTPS upstream's identity."""
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "2", "-subj", "/CN=escape upstream CA", "-keyout", d + "/up-ca-key.pem",
        "-out", d + "/up-ca.pem")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=allowed.test", "-keyout", d + "/up-key.pem", "-out", d + "/up.csr")
    with open(d + "/up.ext", "w") as f:
        f.write("subjectAltName=DNS:allowed.test\n")
    run("openssl", "x509", "-req", "-in", d + "/up.csr", "-CA", d + "/up-ca.pem", "-CAkey",
        d + "/up-ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", d + "/up.ext",
        "-out", d + "/up.pem")
    return d + "/up-ca.pem", (d + "/up.pem", d + "/up-key.pem")


class Listener:
    """A service on the host's loopback the agent must not reach; counts accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.accept_times = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.accept_times.append(time.time())
            c.close()

    def stop(self):
        self.sock.close()


def git_host(*args, cwd=None):
    """git on the host side, with no user config and a fixed identity."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_AUTHOR_NAME": "Upstream", "GIT_AUTHOR_EMAIL": "up@example.test",
           "GIT_COMMITTER_NAME": "Upstream", "GIT_COMMITTER_EMAIL": "up@example.test"}
    return subprocess.run(["git"] + list(args), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


class GitUpstream:
    """A real sshd on loopback (its own host key, port and authorized key; the system sshd
    is never touched) serving bare repos: the upstream the bottle's git-gate forwards to."""

    def __init__(self, base):
        self.dir = base + "/gitup"
        os.makedirs(self.dir + "/repos")
        for key in ("hostkey", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f",
                            self.dir + "/" + key], check=True, timeout=30)
        shutil.copy(self.dir + "/client.pub", self.dir + "/authorized_keys")
        os.chmod(self.dir + "/authorized_keys", 0o600)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        with open(self.dir + "/sshd_config", "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\n"
                    "AuthorizedKeysFile %s/authorized_keys\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
                    "PermitRootLogin prohibit-password\nPidFile none\nLogLevel ERROR\n"
                    % (self.port, self.dir, self.dir))
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation dir (no-op on most hosts)
        self.proc = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f",
                                      self.dir + "/sshd_config"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir + "/sshd.log", "wb"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        git_host("init", "-q", "--bare", "-b", "main", self.repo("app"))
        work = self.dir + "/seed"
        git_host("clone", "-q", self.repo("app"), work)
        with open(work + "/README", "w") as f:
            f.write("the upstream\n")
        git_host("add", "README", cwd=work)
        git_host("commit", "-q", "-m", "initial", cwd=work)
        git_host("push", "-q", "origin", "HEAD:main", cwd=work)

    def repo(self, name):
        return "%s/repos/%s.git" % (self.dir, name)

    def url(self, name):
        return "ssh://root@127.0.0.1:%d%s" % (self.port, self.repo(name))

    def host_key(self):
        return " ".join(open(self.dir + "/hostkey.pub").read().split()[:2])

    def facts(self, commits):
        """What the upstream holds: main's commit and which of `commits` it has."""
        main = git_host("rev-parse", "main", cwd=self.repo("app")).stdout.strip()
        have = {c: git_host("cat-file", "-e", c, cwd=self.repo("app")).returncode == 0
                for c in commits if c}
        return {"main": main, "has": have}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fake_git_secrets(rng):
    """The three shapes of SPEC §10 item 5, generated per run (never checked in)."""
    b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    urlsafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    b64 = urlsafe[:62] + "+/"
    return {
        "git-aws": "AKIA" + "".join(rng.choice(b32) for _ in range(16)),
        "git-anthropic": "sk-ant-api03-" + "".join(rng.choice(urlsafe) for _ in range(93)) + "AA",
        "git-pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow" +
                   "".join(rng.choice(b64) for _ in range(60)) + "\n-----END RSA PRIVATE KEY-----",
    }


# --- run ----------------------------------------------------------------------------------

def sidecar_binaries_present(bottle):
    d = os.path.dirname(bottle)
    for name, sub in (("bottle-egress", "proxy"), ("bottle-init", "init"),
                      ("bottle-gitgate", "gitgate")):
        if not any(os.access(os.path.join(d, rel, name), os.X_OK) for rel in ("", "../" + sub)):
            return name + " is not built next to bottle"
    return None


def skip_reason(bottle, backend):
    if os.geteuid() != 0:
        return "needs root (network namespaces, bubblewrap)"
    if backend == "vm":
        if shutil.which("qemu-system-x86_64") is None:
            return "qemu-system-x86_64 is needed for --backend vm (qemu-system-x86)"
        guest = os.path.join(os.path.dirname(bottle), "..", "guest")
        if not os.path.exists(os.path.join(guest, "initramfs.cpio.gz")):
            return "the guest image is not built (target `guest`) in " + os.path.normpath(guest)
    if not os.access(bottle, os.X_OK):
        return "bottle binary not built: " + bottle
    missing = sidecar_binaries_present(bottle)
    if missing:
        return missing
    for tool in ("bwrap", "curl", "git", "openssl", "ssh-keygen"):
        if shutil.which(tool) is None:
            return tool + " is needed"
    if shutil.which("sshd") is None and not os.access("/usr/sbin/sshd", os.X_OK):
        return "sshd is needed (openssh-server) for the git-gate upstream"
    return None


def manifests(port, tls_port, upstream_ca, label_pins, git_up, vault_port):
    resolve = ["allowed.test:%d:127.0.0.1" % p for p in (port, tls_port)]
    resolve.append("cleartext.test:%d:127.0.0.1" % port)
    # Pins for the wildcard attack names: should DLP miss them, egress dials the local
    # upstream (which records the leak) instead of asking a real resolver.
    resolve += ["%s.wild.test:%d:127.0.0.1" % (l.lower(), port) for l in label_pins]
    # allowed.test: plain HTTP without a token (the DLP cases), HTTPS with the token
    # injected; cleartext.test: a token route on plain HTTP, which egress must refuse.
    bottle = """---
supervise: false
egress:
  log: blocks
  resolve: %s
  upstream_ca: %s
  routes:
    - host: allowed.test
      port: %d
      allow_private: true
    - host: allowed.test
      port: %d
      allow_private: true
      auth: {scheme: Bearer, token_ref: E2E_ROUTE_TOKEN}
    - host: cleartext.test
      port: %d
      allow_private: true
      auth: {scheme: Bearer, token_ref: E2E_ROUTE_TOKEN}
    - host: "*.wild.test"
      port: %d
      allow_private: true
  # The operator's other secret: never sent anywhere, only watched for.
  dlp:
    known_secrets_env: [E2E_PLANTED_SECRET]
git-gate:
  repos:
    - name: app
      url: %s
      host_key: "%s"
      key: {provider: static, path: %s}
    # Its upstream is a recording listener, not sshd: any contact is counted.
    - name: vault
      url: ssh://root@127.0.0.1:%d/srv/vault.git
      host_key: "%s"
      key: {provider: static, path: %s}
---
""" % (json.dumps(resolve), upstream_ca, port, tls_port, port, port, git_up.url("app"),
       git_up.host_key(), git_up.dir + "/client", vault_port, git_up.host_key(), git_up.dir + "/client")
    agent = """---
bottle: escape
provider: command
command: ["true"]
git: {user: {name: Attacker, email: attacker@example.test}}
---
The attacker.
"""
    return bottle, agent


def host_addresses():
    """The host's own non-loopback IPv4 addresses (other ways to the host's services)."""
    try:
        p = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True,
                           timeout=10)
        return [a["local"] for i in json.loads(p.stdout) for a in i.get("addr_info", [])
                if not a["local"].startswith("127.")]
    except (OSError, ValueError, KeyError, subprocess.SubprocessError):
        return []


def state_text(path, secrets):
    """A state file's text for results.json; a big one only as the stretches around each
    secret it holds (in any case), so `check` still finds every leak."""
    if os.path.getsize(path) <= STATE_FILE_KEEP:
        return read_text(path)
    with open(path, "rb") as f:
        data = f.read()
    kept, low = [], data.lower()
    for s in secrets:
        for needle, hay in ((s.encode(), data), (s.lower().encode(), low)):
            at = hay.find(needle)
            while at >= 0:
                kept.append(data[max(0, at - 200):at + len(needle) + 200])
                at = hay.find(needle, at + 1)
    head = b"[%d bytes; kept only the stretches around a secret]\n" % len(data)
    return (head + b"\n".join(kept)).decode("utf-8", "replace")


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# --- the sandbox itself (issue 10 items 1-4), observed from the host -----------------------

def workspace_files(ws):
    """Every path in the workspace (not following symlinks) with its owner and mode."""
    found = {}
    for dirpath, dirs, files in os.walk(ws):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            found[os.path.relpath(p, ws)] = {"uid": st.st_uid, "gid": st.st_gid,
                                             "mode": st.st_mode}
    return found


def run_host_git(ws, marker):
    """What the operator does next: `git status`, as root, wherever the agent left a repo."""
    ran = []
    for rel in ("", "nested"):
        d = os.path.join(ws, rel)
        if os.path.isdir(d):
            p = subprocess.run(["git", "-C", d, "status", "--short"], capture_output=True,
                               text=True, timeout=30)
            ran.append({"dir": rel or ".", "exit": p.returncode, "stderr": p.stderr[-300:]})
    return {"ran": ran, "marker_exists": os.path.exists(marker)}


def read_until(fd, needle, seconds):
    out = b""
    deadline = time.monotonic() + seconds
    while needle not in out and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every process holding the terminal is gone
            break
        if not chunk:
            break
        out += chunk
    return out


def terminal_attack(bottle, env, home, ws):
    """An interactive `bottle start` on a pty: the agent pushes a command into its terminal
    with TIOCSTI; the operator's shell reads the terminal right after bottle returns."""
    marker = home + "/tty-marker"
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    cmd = ("%s start --label esc-tty-%d attacker --cwd %s -- python3 attacks.py --terminal %s; "
           "echo bottle-exited; IFS= read -r line; eval \"$line\"; echo outer-done" %
           (shlex.quote(bottle), os.getpid(), shlex.quote(ws), shlex.quote(marker)))

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(["sh", "-c", cmd], stdin=slave, stdout=slave, stderr=slave, env=env,
                         preexec_fn=controlling_terminal)
    os.close(slave)
    try:
        screen = read_until(master, b"bottle-exited", 150)  # a guest boots first
        os.write(master, b"echo clean\n")  # what the operator types next
        screen += read_until(master, b"outer-done", 15)
        code = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        code = p.wait()
    finally:
        os.close(master)
    return {"screen": screen.decode("utf-8", "replace"), "exit": code,
            "marker_exists": os.path.exists(marker)}


def process_gone(pid, start):
    """`start` (the recorded start time) tells a recycled pid apart, when there is one."""
    try:
        fields = open("/proc/%d/stat" % pid).read().rpartition(")")[2].split()
    except OSError:
        return True
    return fields[0] == "Z" or (start is not None and fields[19] != str(start))


def poll(pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def orphan_attack(bottle, env, home, ws):
    """The CLI dies (SIGKILL; a pipe reader gone): the sidecar holding the token and the
    namespace must go too."""
    out = {}
    label = "esc-kill-%d" % os.getpid()
    ready = os.path.join(ws, "orphan-ready")
    p = subprocess.Popen([bottle, "run", "--label", label, "attacker", "--cwd", ws, "--", "sh",
                          "-c", "touch orphan-ready; exec sleep 60"], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    # A TCG guest boots in 5-10 s at idle, and next to another one on a loaded box in minutes.
    if not poll(lambda: os.path.exists(ready), 150):
        p.kill()
        p.wait()
        return {"error": "the bottle never started"}
    md = json.load(open("%s/state/%s/metadata.json" % (home, label)))
    init, start = md["pids"]["init"], md.get("pid_start_times", {}).get("init")
    p.send_signal(signal.SIGKILL)
    p.wait()
    out["init_gone"] = poll(lambda: process_gone(init, start), 20)
    out["netns_gone"] = poll(lambda: not os.path.exists("/run/netns/bottle-" + label), 20)
    out["ca_key_gone"] = poll(
        lambda: not os.path.exists("%s/state/%s/ca/ca-key.pem" % (home, label)), 5)
    label = "esc-pipe-%d" % os.getpid()
    subprocess.run(["sh", "-c", "%s run --label %s attacker --cwd %s -- sh -c 'yes | head -c "
                    "100000' 2>&1 | head -c1 >/dev/null" % (shlex.quote(bottle), label,
                                                         shlex.quote(ws))],
                   env=env, stdin=subprocess.DEVNULL, timeout=200)  # a guest boots first

    def exited():
        try:
            return json.load(open("%s/state/%s/metadata.json" % (home, label)))["status"] == \
                "exited"
        except (OSError, ValueError, KeyError):
            return False
    out["pipe_teardown"] = poll(exited, 30) and \
        poll(lambda: not os.path.exists("/run/netns/bottle-" + label), 5)
    return out


def run(args):
    out = {"skip": skip_reason(args.bottle, args.backend), "backend": args.backend}
    if out["skip"]:
        return write_results(args.out, out)
    rng = random.Random()
    route_token = "e2e-route-tok-" + "".join(rng.choice("0123456789abcdef") for _ in range(24))
    known = "e2e-known-" + "".join(rng.choice("0123456789abcdef") for _ in range(24))
    ghp = fake_github_token(rng)
    git_secrets = fake_git_secrets(rng)
    home = tempfile.mkdtemp(prefix="bottle-escape-")
    label = "esc-%d" % os.getpid()
    upstream_ca, tls_files = mint_upstream_pki(home)
    upstream, listener, vault = Upstream(tls_files), Listener(), Listener()
    git_up = None
    try:
        git_up = GitUpstream(home)
        os.makedirs(home + "/bottles")
        os.makedirs(home + "/agents")
        ws = home + "/ws"
        os.makedirs(ws)
        b32 = base64.b32encode(known.encode()).decode().rstrip("=").lower()
        # The operator's own repository: attack 9 tries to make its git run code.
        for git_args in (["init", "-q"], ["-c", "user.name=op", "-c", "user.email=op@x",
                                          "commit", "-q", "--allow-empty", "-m", "operator"]):
            subprocess.run(["git", "-C", ws] + git_args, check=True, timeout=30)
        bottle_md, agent_md = manifests(upstream.port, upstream.tls_port, upstream_ca,
                                        [ghp, known, b32], git_up, vault.port)
        open(home + "/bottles/escape.md", "w").write(bottle_md)
        open(home + "/agents/attacker.md", "w").write(agent_md)
        shutil.copy(os.path.join(HERE, "attacks.py"), ws + "/attacks.py")
        state = home + "/state/" + label
        json.dump({"upstream_port": upstream.port, "upstream_tls_port": upstream.tls_port,
                   "host_listener_port": listener.port,
                   "hunted_hex": [hide(route_token), hide(known)],
                   "planted_hex": {"route-token": hide(route_token), "known-secret": hide(known),
                                   "planted-ghp": hide(ghp)},
                   "git_secrets_hex": {k: hide(v) for k, v in git_secrets.items()},
                   "git_app_url": git_up.url("app"),
                   "git_vault_url": "ssh://root@127.0.0.1:%d/srv/vault.git" % vault.port,
                   "host_paths": [state, home + "/bottles", home + "/agents", "/run/netns"],
                   "host_addresses": host_addresses(),
                   "git_marker": home + "/git-marker", "backend": args.backend,
                   # The hunt runs beside the other attacks; a TCG guest reads
                   # slowly (the host's /opt alone is hundreds of MB here).
                   "walk_seconds": 150 if args.backend == "vm" else 20}, open(ws + "/params.json", "w"))
        files_before = set(workspace_files(ws))
        env = dict(os.environ, BOTTLE_HOME=home, E2E_ROUTE_TOKEN=route_token,
                   E2E_PLANTED_SECRET=known, BOTTLE_BACKEND=args.backend)
        start = time.monotonic()
        stdout_path, stderr_path = home + "/run.out", home + "/run.err"
        with open(stdout_path, "wb") as so, open(stderr_path, "wb") as se:
            proc = subprocess.Popen([args.bottle, "run", "--label", label, "attacker", "--cwd", ws,
                                     "--", "python3", "attacks.py"],
                                    env=env, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
            # Hand the admin port (known only once the bottle is up) to attack 6.
            admin = None
            limit = RUN_TIMEOUT_VM if args.backend == "vm" else RUN_TIMEOUT
            while proc.poll() is None and time.monotonic() - start < limit:
                if admin is None:
                    try:
                        admin = json.load(open(state + "/metadata.json"))["admin_port"] or None
                        if admin is None:
                            raise ValueError("admin port not chosen yet")
                        with open(ws + "/admin_port.tmp", "w") as f:
                            f.write(str(admin))
                        os.rename(ws + "/admin_port.tmp", ws + "/admin_port")
                    except (OSError, ValueError, KeyError):
                        pass
                time.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
            code = proc.wait()
        # The host side of attacks 8 and 9, then the runs of their own.
        files = workspace_files(ws)
        out["workspace_files"] = {k: v for k, v in files.items()
                                  if k not in files_before and not k.startswith("admin_port")}
        out["host_git"] = run_host_git(ws, home + "/git-marker")
        # Bottles of their own (an interactive start; a killed CLI), side by side: each
        # mostly waits for its guest (or namespace) to come up and go away.
        side = {}
        runs = [threading.Thread(target=lambda k=k, fn=fn: side.update({k: fn(args.bottle, env,
                                                                                home, ws)}))
                for k, fn in (("terminal", terminal_attack), ("orphan", orphan_attack))]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
        out["terminal"] = side.get("terminal", {"screen": "", "error": "the terminal run crashed"})
        out["orphan"] = side.get("orphan", {"error": "the killed-CLI run crashed"})
        secret_values = [route_token, known, ghp] + list(git_secrets.values())
        state_files = {}
        for dirpath, _, files in os.walk(state):
            for f in files:
                p = os.path.join(dirpath, f)
                if not os.path.islink(p):  # a link is the host's file, not the bottle's
                    state_files[os.path.relpath(p, state)] = state_text(p, secret_values)
        commits = [l.get(k) for l in attack_lines({"stdout": read_text(stdout_path)})
                   if l.get("attack") == "gitgate" for k in ("commit", "secret_commit")]
        out.update({
            "exit_code": code, "seconds": round(time.monotonic() - start, 1),
            "git_upstream": git_up.facts(commits),
            "vault_accept_times": vault.accept_times,
            "stdout": read_text(stdout_path), "stderr": read_text(stderr_path),
            "admin_port": admin, "upstream_port": upstream.port,
            "upstream_requests": upstream.requests, "upstream_connections": upstream.connections,
            "listener_accepts": listener.accepted,
            "secrets": dict({"route-token": route_token, "known-secret": known,
                             "planted-ghp": ghp}, **git_secrets),
            "state_files": state_files,
        })
    finally:
        upstream.stop()
        listener.stop()
        vault.stop()
        if git_up:
            git_up.stop()
        subprocess.run([args.bottle, "cleanup"], env=dict(os.environ, BOTTLE_HOME=home),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(home, ignore_errors=True)
    return write_results(args.out, out)


def write_results(path, results):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.rename(tmp, path)
    if results.get("skip"):
        print("skipped: " + results["skip"])
    else:
        print("bottle run exited %s after %ss; %d attack lines" % (
            results["exit_code"], results["seconds"], len(attack_lines(results))))
    return 0


# --- check ----------------------------------------------------------------------------------

def attack_lines(results):
    lines = []
    for l in results.get("stdout", "").splitlines():
        try:
            lines.append(json.loads(l))
        except ValueError:
            pass
    return lines


def encodings(secret):
    return [secret, base64.b64encode(secret.encode()).decode(),
            "".join("%%%02X" % b for b in secret.encode()), secret.lower()]


def header(request, name):
    for k, v in request.get("headers", {}).items():
        if k.lower() == name.lower():
            return v
    return None


def upstream_leaks(results, names, allow_auth_token=False, websocket=False):
    """Requests (or WebSocket sessions) that reached the upstream carrying a secret."""
    leaks = []
    for r in results["upstream_requests"]:
        if ("ws_frames" in r) != websocket:
            continue
        for name in names:
            secret = results["secrets"][name]
            blob = json.dumps(r)
            if allow_auth_token and name == "route-token":
                auth = header(r, "Authorization") or ""
                blob = blob.replace(json.dumps(auth)[1:-1], "") if auth else blob
            for enc in encodings(secret):
                if enc in blob or enc.lower() in blob.lower():
                    leaks.append("%s reached the upstream: %s" % (name, r.get("raw", "").strip()))
                    break
    return leaks


def judge_lines(results, attack):
    """Failures among this attack's lines (an attempt with an unexpected outcome)."""
    failures, n = [], 0
    for line in attack_lines(results):
        if line.get("attack") != attack:
            continue
        n += 1
        if line.get("skip"):
            print("skip %-45s %s" % (line["case"], line["skip"]))
            continue
        ok = line["outcome"] in line["expect"]
        key = "%s/%s" % (attack, line["case"])
        mark = "ok  " if ok else "FAIL"
        print("%s %-45s %-28s expect %s" % (mark, line["case"], line["outcome"],
                                            "|".join(line["expect"])))
        if not ok:
            failures.append("%s: got %s, expected %s" % (key, line["outcome"], line["expect"]))
    if n == 0:
        failures.append("attack %s printed no lines (did attacks.py crash?)" % attack)
    return failures


def network_layer_fast(results, attack):
    """ENETUNREACH must be immediate: no route means nothing is ever sent. In a vm guest
    the attacks share one slow vCPU (TCG), so the clock also counts waiting for it: an
    ENETUNREACH there took 1.7 s once, still far from any timeout (which reads TIMEOUT)."""
    limit = 5000 if results.get("backend") == "vm" else 1000
    slow = []
    for line in attack_lines(results):
        if line.get("attack") == attack and line["outcome"] == "ENETUNREACH" and \
                line.get("ms", 0) >= limit:
            slow.append("%s/%s took %d ms" % (attack, line["case"], line["ms"]))
    return slow


def check(args):
    results = json.load(open(args.results))
    if results.get("skip"):
        print("skipped: " + results["skip"])
        return 1 if IN_CI else SKIP
    attack = args.attack
    if not any(l.get("attack") == "done" for l in attack_lines(results)):
        print("attacks.py did not finish (exit %s):\n%s" % (results["exit_code"],
                                                          results["stderr"][-3000:]))
        sidecar = results["state_files"].get("logs/sidecar.log", "").splitlines()
        for l in [l for l in sidecar if "daemon_exited" in l or '"stream":"stderr"' in l][:6]:
            print("sidecar: " + l[:300])
        return 1
    if attack == "logs":
        return report(log_leaks(results))
    if attack == "tty":
        return report(check_terminal(results))
    if attack == "orphan":
        return report(check_orphan(results))
    failures = judge_lines(results, attack)
    failures += network_layer_fast(results, attack)
    every = ["route-token", "known-secret", "planted-ghp"]
    if attack == "legit":
        failures += check_legit(results)
    elif attack in ("3", "4"):
        failures += upstream_leaks(results, every, allow_auth_token=True)
    elif attack == "3ws":
        failures += upstream_leaks(results, every, allow_auth_token=True, websocket=True)
    elif attack == "cleartext":
        token = results["secrets"]["route-token"]
        failures += ["the route token crossed in cleartext: " + r.get("raw", "").strip()
                     for r in results["upstream_requests"]
                     if not r.get("tls") and token in json.dumps(r)]
    elif attack == "5":
        failures += ["a push reached the upstream: " + r.get("raw", "")
                     for r in results["upstream_requests"] if "receive-pack" in r.get("raw", "")]
    elif attack == "gitgate":
        failures += check_gitgate(results)
    elif attack == "6":
        if results["listener_accepts"]:
            failures.append("the host loopback listener accepted %d connections" %
                            results["listener_accepts"])
    elif attack == "8":
        failures += check_workspace_files(results)
    elif attack == "9":
        failures += check_host_git(results)
    elif attack == "7":
        token = results["secrets"]["route-token"]
        for name, text in results["state_files"].items():
            if token in text:
                failures.append("state dir file %s holds the real token" % name)
    return report(failures)


def check_gitgate(results):
    """Item 5: the secret pushes were refused before any upstream contact; the clean push
    landed; the upstream holds nothing of the refused commits."""
    failures = []
    lines = {l["case"]: l for l in attack_lines(results) if l.get("attack") == "gitgate"}
    facts = results.get("git_upstream", {})
    clean, secret = lines.get("clean-push", {}), lines.get("push-three-secret-shapes", {})
    if clean.get("commit") and facts.get("main") != clean["commit"]:
        failures.append("the clean push did not land upstream (main is %s)" % facts.get("main"))
    if secret.get("secret_commit") and facts.get("has", {}).get(secret["secret_commit"]):
        failures.append("the upstream holds the refused commit %s" % secret["secret_commit"])
    # The vault's upstream is a listener: nothing may reach it while the secret push runs,
    # and the clean push afterwards must (so "no contact" is not just "no upstream").
    vault = lines.get("vault-three-secret-shapes", {})
    started, refused_at = vault.get("start", 0), vault.get("at", 0)
    times = results.get("vault_accept_times", [])
    during = [t for t in times if started <= t <= refused_at]
    if during:
        failures.append("the vault upstream was contacted %d time(s) while the secret push ran"
                        % len(during))
    if not [t for t in times if t > refused_at]:
        failures.append("the vault upstream was never contacted after the refusal, not even by "
                        "the clean push")
    log = results["state_files"].get("logs/sidecar.log", "")
    if '"gitgate_push_rejected"' not in log:
        failures.append("no gitgate_push_rejected line in the sidecar log")
    return failures


def check_workspace_files(results):
    """Nothing the agent left in the workspace belongs to host root or is setuid/setgid."""
    failures = []
    for path, st in sorted(results.get("workspace_files", {}).items()):
        if st["uid"] == 0 or st["gid"] == 0:
            failures.append("%s belongs to host root (uid %d gid %d)" %
                            (path, st["uid"], st["gid"]))
        if st["mode"] & 0o6000 and not (st["mode"] & 0o170000 == 0o040000):
            failures.append("%s is setuid/setgid on the host (mode %o)" % (path, st["mode"]))
    print("workspace entries the agent made: %d" % len(results.get("workspace_files", {})))
    return failures


def check_host_git(results):
    failures = []
    g = results.get("host_git", {})
    for r in g.get("ran", []):
        print("host git status in %s: exit %d %s" % (r["dir"], r["exit"], r["stderr"].strip()))
    if g.get("marker_exists"):
        failures.append("the host's git ran a command the agent planted")
    return failures


def check_terminal(results):
    t = results.get("terminal", {})
    lines = []
    for l in t.get("screen", "").replace("\r", "").splitlines():
        try:
            lines.append(json.loads(l))
        except ValueError:
            pass
    fake = {"stdout": "\n".join(json.dumps(l) for l in lines)}
    failures = judge_lines(fake, "tty")
    if "outer-done" not in t.get("screen", ""):
        failures.append("the operator's shell never finished: " + t.get("screen", "")[-500:])
    if t.get("marker_exists"):
        failures.append("a command the agent pushed into the terminal ran in the operator's shell")
    return failures


def check_orphan(results):
    o = results.get("orphan", {})
    failures = [o["error"]] if "error" in o else []
    for key, what in (("init_gone", "bottle-init (holding the token) outlived the killed CLI"),
                      ("netns_gone", "the namespace outlived the killed CLI"),
                      ("ca_key_gone", "the CA key outlived the killed CLI"),
                      ("pipe_teardown", "`bottle run ... | head -c1` left the bottle up")):
        print("%-14s %s" % (key, o.get(key)))
        if not o.get(key):
            failures.append(what)
    return failures


def check_legit(results):
    """The allowed route still works: token injected, agent's placeholder never forwarded."""
    failures = []
    token = results["secrets"]["route-token"]
    seen = {r.get("path"): r for r in results["upstream_requests"] if r.get("path")}
    for path in ("/legit", "/legit-curl"):
        r = seen.get(path)
        if r is None:
            failures.append("upstream never saw " + path)
            continue
        if not r.get("tls"):
            failures.append("%s reached the upstream without TLS" % path)
        auth = header(r, "Authorization")
        if auth != "Bearer " + token:
            failures.append("%s reached the upstream with Authorization %r, not the injected "
                            "token" % (path, (auth or "")[:20]))
    for tag in ("post", "post-gzip", "post-chunked"):
        r = seen.get("/legit-" + tag)
        if r is None:
            failures.append("upstream never saw /legit-" + tag)
        elif tag != "post-gzip" and "hello world" not in r.get("body", ""):
            failures.append("/legit-%s reached the upstream without its body" % tag)
    for r in results["upstream_requests"]:
        if "agent-placeholder-value" in json.dumps(r):
            failures.append("the agent's placeholder was forwarded: " + r.get("raw", ""))
    return failures


def log_leaks(results):
    """Block evidence must redact: no secret in clear in any log the sidecar wrote."""
    failures = []
    for name, text in results["state_files"].items():
        if not name.startswith("logs/"):
            continue
        for sname, secret in results["secrets"].items():
            if secret in text or secret.lower() in text:
                at = text.find(secret) if secret in text else text.find(secret.lower())
                line = text[text.rfind("\n", 0, at) + 1:text.find("\n", at)]
                failures.append("%s holds %s in clear: %s" % (name, sname, line[:300]))
    print("log files checked: " + ", ".join(n for n in results["state_files"]
                                             if n.startswith("logs/")))
    return failures


def report(failures):
    for f in failures:
        print("FAILED: " + f)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bottle", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--backend", choices=("local", "vm"), default="local")
    c = sub.add_parser("check")
    c.add_argument("attack")
    c.add_argument("--results", required=True)
    args = ap.parse_args()
    try:
        return run(args) if args.verb == "run" else check(args)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        print("escape_suite: %s: %s" % (args.verb, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
