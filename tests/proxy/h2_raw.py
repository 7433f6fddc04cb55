#!/usr/bin/python3
"""A hand-rolled HTTP/2 client for the egress tests: what well-behaved libraries will not
send. Through the proxy's CONNECT, TLS with ALPN h2 (the bump's leaf is not verified:
the attacks are the point), then one scenario; prints one JSON line with what came back.

  h2_raw.py PROXY_PORT AUTHORITY SCENARIO [ARG]

Abuse scenarios (the proxy must end the session with GOAWAY): rapid_reset,
continuation_flood, settings_flood, ping_flood, empty_frames, hpack_bomb,
too_many_streams, window_overflow.
WebSocket over h2 (RFC 8441): ws_echo MESSAGE (one text message, its echo back), ws_secret
MESSAGE (a message that must be cut: RST_STREAM on that stream).
Flow control: slow_reader (stream 1 downloads /big and is never given window; stream 3's
small response must still arrive whole). Deadlines: stalled_upload (stream 1 sends part of
a body and stops; stream 3 is a GET): which streams got an answer.
Drain: drain_watch (stream 1 downloads /slow; reports the GOAWAY the proxy sends when it
drains, and whether stream 1 still ended whole after it).
"""
import json
import socket
import ssl
import struct
import sys
import time

DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value, index=False):
    """Literal header field with a new name; with incremental indexing when `index`."""
    name, value = name.encode(), value.encode()
    return (b"\x40" if index else b"\x00") + hpack_int(len(name), 7, 0) + name + \
        hpack_int(len(value), 7, 0) + value


def request_block(authority, path, method="GET", extra=()):
    block = literal(":method", method) + literal(":scheme", "https") + \
        literal(":authority", authority) + literal(":path", path)
    for n, v in extra:
        block += literal(n, v)
    return block


class Conn:
    def __init__(self, proxy_port, authority):
        raw = socket.create_connection(("127.0.0.1", int(proxy_port)), timeout=5)
        raw.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = raw.recv(4096)
            if not chunk:
                raise RuntimeError("proxy closed during CONNECT")
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("CONNECT refused: " + head.split(b"\r\n")[0].decode())
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        self.s = ctx.wrap_socket(raw, server_hostname=authority.rsplit(":", 1)[0])
        if self.s.selected_alpn_protocol() != "h2":
            raise RuntimeError("ALPN chose %s" % self.s.selected_alpn_protocol())
        self.buf = b""
        self.s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0))

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError:
            return False

    def frames(self, seconds=5.0):
        """Frames until the peer closes or `seconds` pass: (type, flags, stream, payload)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            while len(self.buf) >= 9:
                length = struct.unpack(">I", b"\0" + self.buf[:3])[0]
                if len(self.buf) < 9 + length:
                    break
                ftype, flags = self.buf[3], self.buf[4]
                stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff
                payload = self.buf[9:9 + length]
                self.buf = self.buf[9 + length:]
                if ftype == SETTINGS and not flags & ACK:
                    self.send(frame(SETTINGS, ACK, 0))
                yield ftype, flags, stream, payload
            self.s.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                return
            if not chunk:
                return
            self.buf += chunk


def attack(c, scenario, authority):
    if scenario == "rapid_reset":
        for i in range(500):
            sid = 1 + 2 * i
            c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block(authority, "/v1/x")) +
                   frame(RST, 0, sid, struct.pack(">I", 8)))
    elif scenario == "continuation_flood":
        c.send(frame(HEADERS, 0, 1, request_block(authority, "/v1/x")))
        for i in range(200):
            if not c.send(frame(CONTINUATION, 0, 1, literal("x-fill-%d" % i, "y"))):
                break
    elif scenario == "settings_flood":
        for _ in range(300):
            if not c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100))):
                break
    elif scenario == "ping_flood":
        for i in range(300):
            if not c.send(frame(PING, 0, 0, struct.pack(">Q", i))):
                break
    elif scenario == "empty_frames":
        c.send(frame(HEADERS, END_HEADERS, 1, request_block(authority, "/v1/x", "POST")))
        for _ in range(500):
            if not c.send(frame(DATA, 0, 1)):
                break
    elif scenario == "hpack_bomb":
        # One 4000-byte entry in the dynamic table, then 4000 one-byte references to it.
        block = request_block(authority, "/v1/x") + literal("x-bomb", "b" * 4000, index=True)
        block += bytes([0x80 | 62]) * 4000
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    elif scenario == "too_many_streams":
        for i in range(150):
            sid = 1 + 2 * i
            if not c.send(frame(HEADERS, END_HEADERS, sid,
                                request_block(authority, "/v1/x", "POST"))):
                break
    elif scenario == "window_overflow":
        c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7fffffff)))
    out = {"goaway": None, "closed": True}
    for ftype, flags, stream, payload in c.frames(8):
        if ftype == GOAWAY:
            out["goaway"] = struct.unpack(">I", payload[4:8])[0]
    return out


def ws(c, scenario, authority, message):
    # Wait for the server's SETTINGS: extended CONNECT needs SETTINGS_ENABLE_CONNECT_PROTOCOL.
    enabled = False
    for ftype, flags, stream, payload in c.frames(3):
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                ident, value = struct.unpack(">HI", payload[i:i + 6])
                enabled |= ident == 8 and value == 1
            break
    block = literal(":method", "CONNECT") + literal(":protocol", "websocket") + \
        literal(":scheme", "https") + literal(":authority", authority) + \
        literal(":path", "/chat") + literal("sec-websocket-version", "13")
    c.send(frame(HEADERS, END_HEADERS, 1, block))
    payload = message.encode()
    ws_frame = bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload  # masked, zero key
    out = {"connect_protocol": enabled, "status": None, "echo": None, "rst": None}
    sent = False
    for ftype, flags, stream, data in c.frames(5):
        if ftype == HEADERS and stream == 1 and out["status"] is None:
            out["status"] = 200 if data[:1] == b"\x88" else data.hex()  # indexed :status 200
            if not sent:
                c.send(frame(DATA, 0, 1, ws_frame))
                sent = True
        elif ftype == DATA and stream == 1 and data:
            out["echo"] = data[2:].decode(errors="replace")
            break
        elif ftype == RST and stream == 1:
            out["rst"] = struct.unpack(">I", data)[0]
            break
    return out


def slow_reader(c, authority):
    # Window for the connection, none beyond the initial 64 KiB for stream 1.
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 16 << 20)))
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(authority, "/big")))
    time.sleep(0.5)  # stream 1 has filled its window by now
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(authority, "/v1/ok")))
    out = {"stalled_bytes": 0, "other_done": False, "other_bytes": 0}
    for ftype, flags, stream, data in c.frames(5):
        if ftype == DATA and stream == 1:
            out["stalled_bytes"] += len(data)
        elif ftype == DATA and stream == 3:
            out["other_bytes"] += len(data)
            if flags & END_STREAM:
                out["other_done"] = True
                break
    return out


def stalled_upload(c, authority):
    c.send(frame(HEADERS, END_HEADERS, 1, request_block(authority, "/v1/up", "POST")) +
           frame(DATA, 0, 1, b"part of a body") +
           frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(authority, "/v1/ok")))
    out = {"stream1_answered": False, "stream1_reset": None, "stream3_done": False}
    for ftype, flags, stream, data in c.frames(4):
        if stream == 3 and ftype in (HEADERS, DATA) and flags & END_STREAM:
            out["stream3_done"] = True
        elif stream == 1 and ftype == HEADERS:
            out["stream1_answered"] = True
        elif stream == 1 and ftype == RST:
            out["stream1_reset"] = struct.unpack(">I", data)[0]
        if out["stream3_done"] and (out["stream1_answered"] or out["stream1_reset"] is not None):
            break
    return out


def drain_watch(c, authority):
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 16 << 20)) +
           frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(authority, "/slow")) +
           frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 16 << 20)))
    out = {"goaway": None, "last_stream": None, "bytes": 0, "ended": False,
           "goaway_before_end": False}
    for ftype, flags, stream, data in c.frames(15):
        if ftype == GOAWAY:
            out["last_stream"] = struct.unpack(">I", data[:4])[0] & 0x7fffffff
            out["goaway"] = struct.unpack(">I", data[4:8])[0]
            out["goaway_before_end"] = not out["ended"]
        elif ftype == DATA and stream == 1:
            out["bytes"] += len(data)
            out["ended"] |= bool(flags & END_STREAM)
    return out


def main():
    proxy_port, authority, scenario = sys.argv[1:4]
    try:
        c = Conn(proxy_port, authority)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        print(json.dumps({"error": str(e)}))
        return
    if scenario == "slow_reader":
        result = slow_reader(c, authority)
    elif scenario == "stalled_upload":
        result = stalled_upload(c, authority)
    elif scenario == "drain_watch":
        result = drain_watch(c, authority)
    elif scenario.startswith("ws_"):
        result = ws(c, scenario, authority, sys.argv[4])
    else:
        result = attack(c, scenario, authority)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
