#!/usr/bin/env python3
"""Record QEMU's side of a QMP conversation: a proxy between a client and QEMU's socket.

usage: record.py QEMU_SOCK PROXY_SOCK OUT [CLIENTS]

Listens on PROXY_SOCK and serves CLIENTS clients (default 1) one after another: forwards
each one's bytes to QEMU_SOCK and QEMU's bytes back, and writes what QEMU sent (verbatim)
to OUT (OUT.2, OUT.3, ... for the later clients). A client's session ends when either side
closes.
"""
import os
import selectors
import socket
import sys

qemu_path, proxy_path, out_path = sys.argv[1:4]
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 1
if os.path.exists(proxy_path):
    os.unlink(proxy_path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(proxy_path)
srv.listen(1)
for n in range(1, clients + 1):
    client, _ = srv.accept()
    qemu = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qemu.connect(qemu_path)
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ)
    sel.register(qemu, selectors.EVENT_READ)
    with open(out_path if n == 1 else f"{out_path}.{n}", "wb") as out:
        done = False
        while not done:
            for key, _ in sel.select():
                data = key.fileobj.recv(1 << 16)
                if not data:
                    done = True
                    break
                if key.fileobj is qemu:
                    out.write(data)
                    client.sendall(data)
                else:
                    qemu.sendall(data)
    client.close()
    qemu.close()
