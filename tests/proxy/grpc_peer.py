#!/usr/bin/python3
"""gRPC peers for the egress h2 tests (Debian's python3-grpcio, no generated code).

  grpc_peer.py server PORT_FILE CERT KEY   TLS server on 127.0.0.1: /echo.Echo/Unary echoes,
                                           /echo.Echo/Stream answers each message; both set
                                           trailing metadata. Writes its port to PORT_FILE.
  grpc_peer.py client PROXY_PORT CA TARGET [SECRET]
                                           through the CONNECT proxy: one unary call and one
                                           bidirectional stream; prints one JSON line.
"""
import json
import sys
from concurrent import futures

import grpc


def ident(x):
    return x


def unary(request, context):
    context.set_trailing_metadata((("x-trailer", "unary-done"),))
    return b"echo:" + request


def stream(requests, context):
    for i, r in enumerate(requests):
        yield b"%d:" % i + r
    context.set_trailing_metadata((("x-trailer", "stream-done"),))


def server(port_file, cert, key):
    handler = grpc.method_handlers_generic_handler("echo.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "Stream": grpc.stream_stream_rpc_method_handler(stream, ident, ident),
    })
    s = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    s.add_generic_rpc_handlers((handler,))
    creds = grpc.ssl_server_credentials(((open(key, "rb").read(), open(cert, "rb").read()),))
    port = s.add_secure_port("127.0.0.1:0", creds)
    s.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.rename(port_file + ".tmp", port_file)
    s.wait_for_termination()


def client(proxy_port, ca, target, secret=None):
    creds = grpc.ssl_channel_credentials(open(ca, "rb").read())
    opts = (("grpc.http_proxy", "http://127.0.0.1:%s" % proxy_port),
            ("grpc.enable_retries", 0))
    out = {}
    with grpc.secure_channel(target, creds, options=opts) as ch:
        call = ch.unary_unary("/echo.Echo/Unary", request_serializer=ident,
                              response_deserializer=ident)
        try:
            resp, c = call.with_call(secret.encode() if secret else b"hello", timeout=10)
            out["unary"] = resp.decode()
            out["unary_trailers"] = dict(c.trailing_metadata())
        except grpc.RpcError as e:
            out["unary_error"] = "%s %s" % (e.code().name, e.details())
        st = ch.stream_stream("/echo.Echo/Stream", request_serializer=ident,
                              response_deserializer=ident)
        try:
            it = st(iter([b"a", b"b", b"c"]), timeout=10)
            out["stream"] = [m.decode() for m in it]
            out["stream_trailers"] = dict(it.trailing_metadata())
        except grpc.RpcError as e:
            out["stream_error"] = "%s %s" % (e.code().name, e.details())
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(*sys.argv[2:5])
    else:
        client(*sys.argv[2:])
