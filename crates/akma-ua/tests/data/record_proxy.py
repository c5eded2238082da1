#!/usr/bin/env python3
"""Relays one TCP connection 127.0.0.1:LISTEN -> 127.0.0.1:UPSTREAM and writes each direction's
bytes to PREFIX-client.bin (client to server) and PREFIX-server.bin (server to client).

Usage: record_proxy.py LISTEN UPSTREAM PREFIX   (exits when both sides have closed, or after 10 s)
"""
import selectors
import socket
import sys
import time

listen_port, upstream_port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(1)
srv.settimeout(10)
client, _ = srv.accept()
server = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
out = {client: open(prefix + "-client.bin", "wb"), server: open(prefix + "-server.bin", "wb")}
peer = {client: server, server: client}
sel = selectors.DefaultSelector()
for s in (client, server):
    sel.register(s, selectors.EVENT_READ)
open_sides = 2
deadline = time.monotonic() + 10
while open_sides and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        data = s.recv(65536)
        if not data:
            sel.unregister(s)
            open_sides -= 1
            try:
                peer[s].shutdown(socket.SHUT_WR)
            except OSError:
                pass
            continue
        out[s].write(data)
        peer[s].sendall(data)
for f in out.values():
    f.close()
