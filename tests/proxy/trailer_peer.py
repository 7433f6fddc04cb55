#!/usr/bin/python3
"""An HTTP/1.1-only upstream for the egress trailer tests, on loopback.

  trailer_peer.py RECORD_FILE [CERT KEY]
With CERT and KEY it serves TLS (ALPN http/1.1 only). Prints "port N" once listening.
For each request it appends one JSON line to RECORD_FILE: the request line, its TE
header, whether the body was chunked, the body, and the trailer fields. Every answer is
chunked, "hello" followed by the trailer "X-Upstream-Trailer: done". Runs until killed.
"""
import json
import socket
import ssl
import sys
import threading


def read_line(f):
    line = f.readline(65536)
    if not line.endswith(b"\r\n"):
        raise EOFError
    return line[:-2].decode("latin-1")


def read_fields(f):
    fields = {}
    while True:
        line = read_line(f)
        if not line:
            return fields
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()


def serve(conn, record):
    f = conn.makefile("rb")
    try:
        while True:
            request_line = read_line(f)
            head = read_fields(f)
            chunked = head.get("transfer-encoding", "").lower() == "chunked"
            body, trailers = b"", {}
            if chunked:
                while True:
                    size = int(read_line(f).split(";")[0], 16)
                    if size == 0:
                        break
                    body += f.read(size)
                    read_line(f)
                trailers = read_fields(f)
            else:
                body = f.read(int(head.get("content-length", "0")))
            with open(record, "a") as out:
                out.write(json.dumps({"request": request_line, "te": head.get("te"),
                                      "chunked": chunked, "body": body.decode("latin-1"),
                                      "trailers": trailers}) + "\n")
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         b"Trailer: X-Upstream-Trailer\r\n\r\n"
                         b"5\r\nhello\r\n0\r\nX-Upstream-Trailer: done\r\n\r\n")
    except (EOFError, OSError, ValueError):
        pass
    finally:
        conn.close()


def main(record, cert=None, key=None):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    tls = None
    if cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        tls.set_alpn_protocols(["http/1.1"])
    print("port %d" % listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        if tls:
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn, record), daemon=True).start()


if __name__ == "__main__":
    main(*sys.argv[1:4])
