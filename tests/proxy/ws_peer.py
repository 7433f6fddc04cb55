#!/usr/bin/python3
"""A real WebSocket server for the egress tests (Debian's python3-websockets), on loopback.

  ws_peer.py RECORD_FILE [CERT KEY]
With CERT and KEY it serves wss:// (TLS). Prints "port N" once listening. Accepts permessage-deflate whenever a client offers it
(the library's default), appends one line per received message to RECORD_FILE
("<type> <hex payload>") and echoes each message back. Runs until killed.
"""
import asyncio
import sys

import websockets


async def main(record, cert=None, key=None):
    async def handler(ws, *_):
        async for msg in ws:
            data = msg.encode() if isinstance(msg, str) else msg
            with open(record, "a") as f:
                f.write("%s %s\n" % ("text" if isinstance(msg, str) else "binary", data.hex()))
            await ws.send(msg)

    tls = None
    if cert:
        import ssl
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=1 << 24, ssl=tls) as server:
        port = server.sockets[0].getsockname()[1]
        print("port %d" % port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
