#!/usr/bin/env python3
"""Idle bumped-TLS connection memory of bottle-egress (SPEC §11: <= 16 KiB beyond TLS buffers).

  bench/soak/idle_memory.py [--connections 1000] [--build DIR]

Loopback only. Starts bottle-egress (--threads 1) and an HTTPS upstream, opens N client
connections that each CONNECT, complete the bumped TLS handshake and make one request
(so the upstream connection and its TLS session exist too), then leaves them all idle.
Prints egress RSS before and after, and the growth per idle connection, twice (after 2 s
and after 10 s, so lazily freed buffers have settled). Standard library only.
"""
import argparse
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak  # noqa: E402  (same directory: upstream, certificates, client connection)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--build", default=os.path.join(soak.REPO, "build"))
    args = ap.parse_args()
    want = 3 * args.connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    tmp = tempfile.mkdtemp(prefix="bottle-idle-")
    soak.mint(tmp)
    up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    up_ctx.load_cert_chain(tmp + "/up.pem", tmp + "/up-key.pem")
    up = soak.TlsServer(("127.0.0.1", 0), soak.Upstream, up_ctx)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    up_port = up.server_address[1]
    with open(tmp + "/routes.yaml", "w") as f:
        f.write(soak.routes_yaml(up_port, up_port, 0))
    port, admin = soak.free_port(), soak.free_port()
    egress = subprocess.Popen(
        [args.build + "/proxy/bottle-egress", "--config", tmp + "/routes.yaml",
         "--listen", "127.0.0.1:%d" % port, "--admin", "127.0.0.1:%d" % admin,
         "--ca-cert", tmp + "/ca.pem", "--ca-key", tmp + "/ca-key.pem",
         "--upstream-ca", tmp + "/up-ca.pem", "--threads", "1",
         "--resolve", "up.test:%d:127.0.0.1" % up_port],
        stdout=subprocess.DEVNULL, stderr=open(tmp + "/egress.log", "wb"))

    class Side:
        pass
    side = Side()
    side.port = port
    ctx = ssl.create_default_context(cafile=tmp + "/ca.pem")
    deadline = time.monotonic() + 20
    warm = None
    while warm is None:
        try:
            warm = soak.Conn(ctx, port, up_port, True)
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("idle_memory: egress did not come up (see %s/egress.log)" % tmp)
            time.sleep(0.05)
    warm.request("GET", "/small")  # leaf certificate minted and cached before measuring
    time.sleep(1)
    before = rss_kib(egress.pid)
    conns = []
    try:
        for _ in range(args.connections):
            c = soak.Conn(ctx, port, up_port, True)
            c.request("GET", "/small")
            conns.append(c)
        results = []
        for settle in (2, 10):
            time.sleep(settle - (2 if settle == 10 else 0))
            after = rss_kib(egress.pid)
            results.append((settle, after, (after - before) / args.connections))
        for settle, after, per in results:
            print("idle_memory: %d idle bumped connections: egress RSS %.1f MiB -> %.1f MiB "
                  "after %d s: %.1f KiB per connection"
                  % (args.connections, before / 1024, after / 1024, settle, per))
    finally:
        for c in conns:
            c.close()
        warm.close()
        egress.terminate()
        egress.wait(timeout=10)
        up.shutdown()


if __name__ == "__main__":
    main()
