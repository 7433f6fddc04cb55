#!/usr/bin/env python3
"""Bounded soak of bottle-egress under bottle-init, with reloads and faults (issue 17).

  bench/soak/soak.py [--seconds 600] [--out DIR] [--build DIR] [--clients 24]
                     [--no-restart] [--no-realtime]

Loopback only. Starts an upstream (plain HTTP and HTTPS, with a WebSocket echo), then
bottle-init running bottle-egress (--threads 2), and for --seconds runs at once:
  - legitimate keep-alive clients: small GETs and 256 KiB uploads through the TLS bump
    (CONNECT + TLS), 1 MiB downloads over plain HTTP, WebSocket echoes;
  - a reload every second through `bottle-init ctl reload`, alternating a 10-route and a
    10,000-route routes.yaml, every tenth one a bad file (egress keeps the old config);
  - faults: upstream resets mid-body, an upstream that stalls, client aborts mid-body,
    slowloris clients, malformed requests, TLS garbage after CONNECT;
  - halfway, `bottle-init ctl restart egress` (clients retry; failures in that window are
    counted apart).
Every second it samples egress's RSS, open fds, live snapshots (egress_snapshots_retained),
the client-side p50/p99 latency, failed legitimate requests, and the longest loop
iteration from egress's egress_loop_lag_seconds histogram. Writes DIR/samples.csv,
DIR/summary.json and DIR/soak.png (gnuplot). Exits 1 if a legitimate request failed
outside the restart window. Standard library only; needs the openssl CLI and gnuplot.
"""
import argparse
import base64
import csv
import http.server
import json
import os
import random
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BULK = os.urandom(1 << 20)
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
import loopback  # noqa: E402  (shared with the escape suite and memory_attack.py)


# ---------------------------------------------------------------- upstream

class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def log_message(self, *args):
        pass

    def read_body(self):
        if not loopback.drain_body(self):
            raise ConnectionError("client went away")

    def reply(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.read_body()
        self.reply(b"stored")

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self.websocket()
        if self.path.startswith("/small"):
            return self.reply(b"x" * 128)
        if self.path.startswith("/bulk"):
            return self.reply(BULK)
        if self.path.startswith("/reset"):  # promises 1 MiB, sends 64 KiB, then RST
            self.send_response(200)
            self.send_header("Content-Length", str(len(BULK)))
            self.end_headers()
            self.wfile.write(BULK[:65536])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if self.path.startswith("/stall"):  # never answers while the client waits
            Upstream.stop.wait(20)
            self.close_connection = True
            return
        self.reply(b"not found", 404)

    def websocket(self):
        loopback.accept_websocket(self)
        while True:
            frame = ws_read(self.rfile)
            if frame is None or frame[0] == 8:
                self.close_connection = True
                return
            self.wfile.write(ws_frame(frame[0], frame[1], mask=False))
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request, client_address):
        pass  # resets and aborts are what the soak injects; nothing to report


class TlsServer(Server):
    def __init__(self, addr, handler, ctx):
        super().__init__(addr, handler)
        self.ctx = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs in the handler's thread, on its first read.
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def ws_frame(opcode, payload, mask=True):
    head = bytes([0x80 | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_exact(f, n):
    out = b""
    while len(out) < n:
        got = f.read(n - len(out))
        if not got:
            return None
        out += got
    return out


def ws_read(f):
    head = read_exact(f, 2)
    if head is None:
        return None
    opcode, n, masked = head[0] & 0x0F, head[1] & 0x7F, head[1] & 0x80
    if n == 126:
        n = struct.unpack(">H", read_exact(f, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", read_exact(f, 8))[0]
    key = read_exact(f, 4) if masked else None
    payload = read_exact(f, n) if n else b""
    if payload is None:
        return None
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return opcode, payload


# ---------------------------------------------------------------- egress under init

def routes_yaml(plain, tls, extra):
    out = ["log: off", "routes:"]
    for port in sorted({plain, tls}):
        out += ["  - host: up.test", "    port: %d" % port, "    allow_private: true"]
    out += ["  - host: h%d.bulk.test" % i for i in range(extra)]
    return "\n".join(out) + "\n"


class Sidecar:
    def __init__(self, build, tmp, plain, tls, realtime):
        self.tmp = tmp
        self.routes = tmp + "/routes.yaml"
        self.small_routes = routes_yaml(plain, tls, 8)
        self.big_routes = routes_yaml(plain, tls, 10000)
        with open(self.routes, "w") as f:
            f.write(self.small_routes)
        self.port, self.admin = loopback.free_port(), loopback.free_port()
        self.ctl = tmp + "/init.sock"
        # Copies: a rebuild in the build tree during an hour's run must neither change the
        # binary under test (the restart execs it again) nor fail a `ctl` call mid-link.
        for rel in ("init/bottle-init", "proxy/bottle-egress"):
            shutil.copy2(os.path.join(build, rel), tmp)
        self.init = tmp + "/bottle-init"
        egress = [tmp + "/bottle-egress", "--config", self.routes,
                  "--listen", "127.0.0.1:%d" % self.port, "--admin", "127.0.0.1:%d" % self.admin,
                  "--ca-cert", tmp + "/ca.pem", "--ca-key", tmp + "/ca-key.pem",
                  "--upstream-ca", tmp + "/up-ca.pem", "--threads", "2",
                  "--resolve", "up.test:%d:127.0.0.1" % plain,
                  "--resolve", "up.test:%d:127.0.0.1" % tls]
        with open(tmp + "/init.yaml", "w") as f:
            f.write("daemons:\n  egress:\n    argv: %s\n    restart: always\n"
                    "    ready: {http: \"127.0.0.1:%d/healthz\"}\n    reload_signal: true\n"
                    % (json.dumps(egress), self.admin))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "BOTTLE_DAEMONS": "egress"}
        self.log = open(tmp + "/init.log", "wb")
        # SCHED_FIFO (inherited by egress) keeps the other tenants of a shared machine from
        # preempting egress, so the loop-lag figure is egress's own.
        prio = ["chrt", "-f", "5"] if realtime else []
        self.proc = subprocess.Popen(
            prio + [self.init, "--config", tmp + "/init.yaml", "--ctl", self.ctl,
                    "--ready-file", tmp + "/ready"],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        self.wait_ready(30)

    def wait_ready(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("soak: bottle-init exited (see %s/init.log)" % self.tmp)
            if os.path.exists(self.tmp + "/ready"):
                return
            time.sleep(0.05)
        raise SystemExit("soak: egress not ready in %ds (see %s/init.log)" % (seconds, self.tmp))

    def ctl_cmd(self, *args):
        try:
            r = subprocess.run([self.init, "ctl", "--socket", self.ctl] + list(args),
                               capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return -1, str(e)
        return r.returncode, r.stdout

    def egress_pid(self):
        code, out = self.ctl_cmd("status")
        if code != 0:
            return None
        try:
            return json.loads(out)["daemons"]["egress"]["pid"]
        except (ValueError, KeyError, TypeError):
            return None

    def metrics(self):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.admin,
                                      timeout=5).read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- clients

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []  # small GETs this second, ms
        self.ok = 0
        self.failed = 0
        self.restart_failed = 0
        self.first_errors = []
        self.restarting = threading.Event()

    def record(self, ok, ms=None, what=""):
        with self.lock:
            if ok:
                self.ok += 1
                if ms is not None:
                    self.latencies.append(ms)
            elif self.restarting.is_set():
                self.restart_failed += 1
            else:
                self.failed += 1
                if len(self.first_errors) < 20:
                    self.first_errors.append("%.1f %s" % (time.monotonic(), what))

    def take(self):
        with self.lock:
            out = (self.latencies, self.ok, self.failed, self.restart_failed)
            self.latencies, self.ok, self.failed, self.restart_failed = [], 0, 0, 0
            return out


class Conn:
    """One keep-alive client connection through egress, plain or bumped TLS."""

    def __init__(self, ctx, egress_port, port, tls):
        self.sock = socket.create_connection(("127.0.0.1", egress_port), timeout=15)
        self.authority = "up.test:%d" % port
        self.tls = tls
        if tls:
            self.sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                               % (self.authority, self.authority)).encode())
            f = self.sock.makefile("rb")
            status = f.readline()
            while f.readline() not in (b"\r\n", b""):
                pass
            if b" 200 " not in status:
                raise ConnectionError("CONNECT: %r" % status)
            self.sock = ctx.wrap_socket(self.sock, server_hostname="up.test")
        self.f = self.sock.makefile("rb")

    def request(self, method, path, body=b""):
        target = path if self.tls else "http://%s%s" % (self.authority, path)
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (
            method, target, self.authority, len(body))
        self.sock.sendall(head.encode() + body)
        status = self.f.readline()
        length = 0
        while True:
            line = self.f.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        data = read_exact(self.f, length) if length else b""
        if not status.startswith(b"HTTP/1.1 200") or data is None:
            raise ConnectionError("%s %s: %r" % (method, path, status[:40]))
        return data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def legit_client(kind, ctx, side, ports, stats, stop):
    plain, tls = ports
    conn = None
    upload = os.urandom(256 << 10)
    while not stop.is_set():
        try:
            if conn is None:
                conn = Conn(ctx, side.port, tls if kind in ("small", "upload") else plain,
                            kind in ("small", "upload"))
                if kind == "ws":
                    conn.sock.sendall((
                        "GET http://%s/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: %s\r\n\r\n" % (conn.authority, conn.authority,
                                                           base64.b64encode(os.urandom(16)).decode())
                    ).encode())
                    status = conn.f.readline()
                    while conn.f.readline() not in (b"\r\n", b""):
                        pass
                    if b" 101 " not in status:
                        raise ConnectionError("ws upgrade: %r" % status)
            t = time.monotonic()
            if kind == "small":
                conn.request("GET", "/small")
                stats.record(True, (time.monotonic() - t) * 1000)
            elif kind == "upload":
                conn.request("POST", "/upload", upload)
                stats.record(True)
            elif kind == "bulk":
                if len(conn.request("GET", "/bulk")) != len(BULK):
                    raise ConnectionError("short bulk body")
                stats.record(True)
            else:
                msg = os.urandom(random.randint(1, 4096)).hex().encode()
                conn.sock.sendall(ws_frame(1, msg))
                frame = ws_read(conn.f)
                if frame is None or frame[1] != msg:
                    raise ConnectionError("ws echo mismatch")
                stats.record(True)
                time.sleep(0.01)
        except (OSError, ConnectionError, ValueError, ssl.SSLError) as e:
            if conn:
                conn.close()
            conn = None
            if not stop.is_set():
                stats.record(False, what="%s: %s" % (kind, e))
                time.sleep(0.05)
    if conn:
        conn.close()


def fault_client(kind, ctx, side, ports, stop, counts):
    plain, tls = ports
    while not stop.is_set():
        try:
            if kind == "reset":
                c = Conn(ctx, side.port, tls, True)
                try:
                    c.request("GET", "/reset")
                except (OSError, ConnectionError, ssl.SSLError):
                    pass
                c.close()
            elif kind == "stall":
                c = Conn(ctx, side.port, plain, False)
                c.sock.settimeout(2)
                try:
                    c.request("GET", "/stall")
                except (OSError, ConnectionError):
                    pass  # we give up first: a client abort while upstream stalls
                c.close()
            elif kind == "abort":
                c = Conn(ctx, side.port, tls, True)
                c.sock.sendall(b"POST /upload HTTP/1.1\r\nHost: up.test\r\n"
                               b"Content-Length: 1048576\r\n\r\n" + os.urandom(100000))
                c.close()
            elif kind == "slowloris":
                s = socket.create_connection(("127.0.0.1", side.port), timeout=5)
                s.sendall(b"GET http://up.test:%d/small HTTP/1.1\r\n" % plain)
                for _ in range(20):
                    if stop.wait(1):
                        break
                    s.sendall(b"X")
                s.close()
            elif kind == "malformed":
                s = socket.create_connection(("127.0.0.1", side.port), timeout=5)
                s.sendall(random.choice([
                    b"GET http://up.test/ HTTP/1.1\r\nHost: \x00\r\n\r\n",
                    b"\x16\x03\x01 not http at all\r\n\r\n",
                    b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                    b"GET http://up.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    os.urandom(512)]))
                try:
                    s.recv(4096)
                except OSError:
                    pass
                s.close()
            elif kind == "tls_garbage":
                s = socket.create_connection(("127.0.0.1", side.port), timeout=5)
                s.sendall(b"CONNECT up.test:%d HTTP/1.1\r\nHost: up.test\r\n\r\n" % tls)
                s.recv(4096)
                s.sendall(b"\x16\x03\x01\x02\x00" + os.urandom(600))
                try:
                    s.recv(4096)
                except OSError:
                    pass
                s.close()
            counts[kind] = counts.get(kind, 0) + 1
        except (OSError, ConnectionError, ssl.SSLError):
            stop.wait(0.1)
        stop.wait(0.05)


# ---------------------------------------------------------------- main

def mint(tmp):
    def run(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=tmp)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=soak bottle CA",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    run("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=soak upstream CA",
        "-keyout", "up-ca-key.pem", "-out", "up-ca.pem")
    run("openssl", "req", *ec, "-subj", "/CN=up.test", "-keyout", "up-key.pem", "-out", "up.csr")
    with open(tmp + "/ext", "w") as f:
        f.write("subjectAltName=DNS:up.test\n")
    run("openssl", "x509", "-req", "-in", "up.csr", "-CA", "up-ca.pem", "-CAkey", "up-ca-key.pem",
        "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "up.pem")


def lag_le_ms(prev, cur):
    """The smallest loop-lag bound (ms) that every iteration since `prev` stayed under."""
    key = 'egress_loop_lag_seconds_bucket{le="%s"}'
    delta = lambda le: cur.get(key % le, 0) - prev.get(key % le, 0)
    total = delta("+Inf")
    if total <= 0:
        return 0.0
    bounds = sorted(n.split('"')[1] for n in cur if n.startswith(key.split("%")[0]))
    for le in sorted((b for b in bounds if b != "+Inf"), key=float):
        if delta(le) >= total:
            return float(le) * 1000
    return float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--out", default=os.path.join(REPO, "build/soak"))
    ap.add_argument("--clients", type=int, default=24, help="legitimate clients (all kinds)")
    ap.add_argument("--no-restart", action="store_true")
    ap.add_argument("--no-realtime", action="store_true",
                    help="run egress at normal priority (default: SCHED_FIFO 5 via chrt)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # Keys, routes, the control socket and logs of one run: removed however it ends.
    with tempfile.TemporaryDirectory(prefix="bottle-soak-") as tmp:
        return soak(args, tmp)


def soak(args, tmp):
    mint(tmp)
    up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    up_ctx.load_cert_chain(tmp + "/up.pem", tmp + "/up-key.pem")
    plain_srv = Server(("127.0.0.1", 0), Upstream)
    tls_srv = TlsServer(("127.0.0.1", 0), Upstream, up_ctx)
    for s in (plain_srv, tls_srv):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    ports = (plain_srv.server_address[1], tls_srv.server_address[1])
    side = Sidecar(args.build, tmp, *ports, realtime=not args.no_realtime)
    client_ctx = ssl.create_default_context(cafile=tmp + "/ca.pem")

    stats, stop, counts = Stats(), threading.Event(), {}
    threads = []
    kinds = ["small"] * 3 + ["upload", "bulk", "ws"]
    for i in range(args.clients):
        threads.append(threading.Thread(target=legit_client, daemon=True,
                                        args=(kinds[i % len(kinds)], client_ctx, side, ports,
                                              stats, stop)))
    for kind in ["reset", "stall", "abort", "malformed", "tls_garbage"] + ["slowloris"] * 8:
        threads.append(threading.Thread(target=fault_client, daemon=True,
                                        args=(kind, client_ctx, side, ports, stop, counts)))
    for t in threads:
        t.start()

    rows, reloads, bad_reloads, restart_at = [], 0, 0, None
    started = time.monotonic()
    prev_metrics = side.metrics()
    restart_done = args.no_restart
    reload_errors = 0
    # Rows are written as they are taken, so a run cut short keeps what it measured.
    csv_file = open(args.out + "/samples.csv", "w", newline="")
    writer = None
    try:
        while time.monotonic() - started < args.seconds:
            tick = time.monotonic()
            # One reload per second: 10 routes, 10,000 routes, ...; every tenth a bad file.
            reloads += 1
            if reloads % 10 == 0:
                text, bad_reloads = "routes:\n  - host: [unterminated\n", bad_reloads + 1
                sent = "bad"
            else:
                text = side.big_routes if reloads % 2 else side.small_routes
                sent = "10000" if reloads % 2 else "10"
            with open(side.routes + ".tmp", "w") as f:
                f.write(text)
            os.replace(side.routes + ".tmp", side.routes)
            if side.ctl_cmd("reload")[0] != 0:
                reload_errors += 1
            if not restart_done and tick - started > args.seconds / 2:
                restart_done, restart_at = True, tick - started
                stats.restarting.set()
                code, out = side.ctl_cmd("restart", "egress")
                side.wait_ready(60)
                time.sleep(1)  # clients notice and reconnect
                stats.restarting.clear()
                prev_metrics = {}
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            pid = side.egress_pid()
            try:
                cur = side.metrics()
                with open("/proc/%d/status" % pid) as f:
                    rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
                fds = len(os.listdir("/proc/%d/fd" % pid))
            except (OSError, TypeError, StopIteration):
                cur, rss, fds = {}, 0, 0
            lat, ok, failed, restart_failed = stats.take()
            lat.sort()
            pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
            rows.append({
                "t": round(time.monotonic() - started, 1), "sent": sent, "ok": ok, "failed": failed,
                "restart_failed": restart_failed, "rss_mib": round(rss / 1024, 1), "fds": fds,
                "snapshots": cur.get("egress_snapshots_retained", 0),
                "p50_ms": round(pick(0.5), 2), "p99_ms": round(pick(0.99), 2),
                "lag_le_ms": lag_le_ms(prev_metrics, cur) if cur else 0.0,
                "reloads": cur.get("egress_reloads_total", 0),
                "reload_failures": cur.get("egress_reload_failures_total", 0),
            })
            if writer is None:
                writer = csv.DictWriter(csv_file, fieldnames=list(rows[0].keys()))
                writer.writeheader()
            writer.writerow(rows[-1])
            csv_file.flush()
            prev_metrics = cur or prev_metrics
    finally:
        csv_file.close()
        stop.set()
        Upstream.stop.set()
        final = {}
        try:
            final = side.metrics()
        except OSError:
            pass
        side.stop()
        plain_srv.shutdown()
        tls_srv.shutdown()

    warm = [r for r in rows if r["t"] > min(60, args.seconds / 5)]
    summary = {
        "seconds": args.seconds, "legit_ok": sum(r["ok"] for r in rows),
        "legit_failed": sum(r["failed"] for r in rows),
        "failed_during_restart": sum(r["restart_failed"] for r in rows),
        "restart_at_s": restart_at, "reloads_sent": reloads, "bad_reloads_sent": bad_reloads,
        "reload_ctl_errors": reload_errors, "faults": counts,
        "rss_mib_after_warmup": [min(r["rss_mib"] for r in warm), max(r["rss_mib"] for r in warm)]
        if warm else None,
        "fds_after_warmup": [min(r["fds"] for r in warm), max(r["fds"] for r in warm)] if warm else None,
        "max_snapshots": max(r["snapshots"] for r in rows),
        "p50_ms_median": sorted(r["p50_ms"] for r in rows)[len(rows) // 2],
        "p99_ms_max": max(r["p99_ms"] for r in rows),
        "worst_second_lag_le_ms": max(r["lag_le_ms"] for r in rows),
        "worst_lag_le_ms_by_reload_sent": {
            k: max((r["lag_le_ms"] for r in rows if r["sent"] == k), default=None)
            for k in ("10", "10000", "bad")},
        "loop_lag_max_ms_final_process": final.get("egress_loop_lag_max_seconds", 0) * 1000,
        "first_errors": stats.first_errors,
    }
    with open(args.out + "/summary.json", "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    subprocess.run(["gnuplot", "-e", "csv='%s/samples.csv'; png='%s/soak.png'; restart=%s"
                    % (args.out, args.out, restart_at if restart_at is not None else -1),
                    os.path.join(HERE, "plot.gp")], check=True)
    print("soak: wrote %s/{samples.csv,summary.json,soak.png}" % args.out)
    return 1 if summary["legit_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
