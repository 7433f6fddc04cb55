#!/usr/bin/env python3
"""bottle-egress memory under the two attacks of issue 10 (items 10 and 12), loopback only.

  bench/proxy/memory_attack.py hold   [--egress PATH] [--connections 100] [--mib 8]
      N connections each declare an M MiB body and send all of it but one byte, then stall.
      Reports egress RSS before, at the peak, how many connections got 503 and how many
      were closed by a deadline within --wait seconds.
  bench/proxy/memory_attack.py reload [--egress PATH] [--connections 100] [--reloads 100]
      N keep-alive connections; after each SIGHUP one of them makes a request and then
      idles (so each may pin a different config). Reports RSS before and after, and the
      egress_snapshots_retained gauge when the build has it.

Extra egress flags go after `--` (e.g. `-- --timeout body=5`). Needs the openssl CLI.
Standard library only.
"""
import argparse
import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
from loopback import drain_body, free_port  # noqa: E402  (shared with soak.py)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        if not drain_body(self):
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = handle_any

    def log_message(self, *args):
        pass


class Egress:
    def __init__(self, binary, tmp, sink_port, extra):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=bench",
                        "-keyout", tmp + "/ca-key.pem", "-out", tmp + "/ca.pem"],
                       check=True, capture_output=True)
        self.routes = tmp + "/routes.yaml"
        with open(self.routes, "w") as f:
            f.write("log: off\nroutes:\n  - host: hold.test\n    port: %d\n"
                    "    allow_private: true\n" % sink_port)
        self.port, self.admin = free_port(), free_port()
        self.log = open(tmp + "/egress.log", "wb")
        self.proc = subprocess.Popen(
            [binary, "--config", self.routes, "--listen", "127.0.0.1:%d" % self.port,
             "--admin", "127.0.0.1:%d" % self.admin, "--ca-cert", tmp + "/ca.pem",
             "--ca-key", tmp + "/ca-key.pem", "--threads", "2",
             "--resolve", "hold.test:%d:127.0.0.1" % sink_port] + extra,
            stdout=subprocess.DEVNULL, stderr=self.log)
        for _ in range(200):
            try:
                self.metric("egress_reloads_total")
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("bottle-egress did not come up (see %s/egress.log)" % tmp)

    def metric(self, name):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.admin,
                                      timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def hold(args, egress, sink_port):
    size = args.mib << 20
    auth = "hold.test:%d" % sink_port
    head = ("POST http://%s/up HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
            % (auth, auth, size)).encode()
    before = rss_kib(egress.proc.pid)
    socks, refused, closed = [], 0, 0
    chunk = b"a" * (1 << 16)
    for _ in range(args.connections):
        s = socket.create_connection(("127.0.0.1", egress.port))
        s.settimeout(0.2)
        try:
            s.sendall(head)
            left = size - 1
            while left > 0:
                s.sendall(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
        except OSError:
            pass  # refused early and closed
        socks.append(s)
    peak = rss_kib(egress.proc.pid)
    deadline = time.monotonic() + args.wait
    answers = {}
    while time.monotonic() < deadline and len(answers) < len(socks):
        for i, s in enumerate(socks):
            if i in answers:
                continue
            try:
                data = s.recv(4096)
                answers[i] = data[:12].decode("latin-1") if data else "closed"
            except socket.timeout:
                pass
            except OSError:
                answers[i] = "reset"
        peak = max(peak, rss_kib(egress.proc.pid))
    refused = sum(1 for a in answers.values() if a.startswith("HTTP/1.1 503"))
    closed = sum(1 for a in answers.values() if not a.startswith("HTTP/1.1 503"))
    after = rss_kib(egress.proc.pid)
    for s in socks:
        s.close()
    print("hold: %d connections x %d MiB - 1 byte: RSS %.0f MiB before, %.0f MiB peak, "
          "%.0f MiB after %ds; %d got 503, %d closed/answered otherwise, %d still open"
          % (args.connections, args.mib, before / 1024, peak / 1024, after / 1024, args.wait,
             refused, closed, len(socks) - len(answers)))


def reload(args, egress, sink_port):
    auth = "hold.test:%d" % sink_port
    req = ("GET http://%s/r HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth)).encode()
    socks = [socket.create_connection(("127.0.0.1", egress.port)) for _ in range(args.connections)]
    for s in socks:
        s.settimeout(10)
        s.sendall(req)
        s.recv(4096)
    before = rss_kib(egress.proc.pid)
    for i in range(args.reloads):
        egress.proc.send_signal(signal.SIGHUP)
        while (egress.metric("egress_reloads_total") or 0) < i + 1:
            time.sleep(0.02)
        s = socks[i % len(socks)]
        s.sendall(req)  # this connection's exchange now runs on the newest config, then idles
        s.recv(4096)
    time.sleep(1.5)  # the reclaim timer runs every 500 ms
    after = rss_kib(egress.proc.pid)
    retained = egress.metric("egress_snapshots_retained")
    for s in socks:
        s.close()
    print("reload: %d reloads, %d idle keep-alive connections: RSS %.0f MiB before, %.0f MiB "
          "after; snapshots retained: %s"
          % (args.reloads, args.connections, before / 1024, after / 1024,
             "n/a (older build)" if retained is None else retained))


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["hold", "reload"])
    ap.add_argument("--egress", default=os.path.join(REPO, "build/proxy/bottle-egress"))
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--mib", type=int, default=8)
    ap.add_argument("--reloads", type=int, default=100)
    ap.add_argument("--wait", type=int, default=40, help="hold: seconds to wait for answers")
    args = ap.parse_args(argv)
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    sink.daemon_threads = True
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="egress-mem-") as tmp:
        egress = Egress(args.egress, tmp, sink.server_address[1], extra)
        try:
            (hold if args.mode == "hold" else reload)(args, egress, sink.server_address[1])
        finally:
            egress.stop()
            sink.shutdown()


if __name__ == "__main__":
    main()
