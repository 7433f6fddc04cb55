"""Helpers the Python test and bench drivers share (tests/e2e/escape_suite.py,
bench/soak/soak.py, bench/proxy/memory_attack.py): a free loopback port, draining a
request body, and the server side of a WebSocket upgrade. Standard library only.

Import with the folder on sys.path:
    sys.path.insert(0, os.path.join(REPO, "tests", "support"))
    import loopback
"""

import base64
import hashlib
import socket

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def free_port():
    """A port on 127.0.0.1 nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def drain_body(handler):
    """Reads and drops a BaseHTTPRequestHandler's Content-Length body in 64 KiB pieces;
    False when the client went away before sending all of it."""
    n = int(handler.headers.get("Content-Length") or 0)
    while n > 0:
        got = handler.rfile.read(min(n, 1 << 16))
        if not got:
            return False
        n -= len(got)
    return True


def accept_websocket(handler):
    """Answers a BaseHTTPRequestHandler's WebSocket upgrade with 101 and the
    Sec-WebSocket-Accept its key asks for, flushed."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    handler.send_response(101)
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.end_headers()
    handler.wfile.flush()
