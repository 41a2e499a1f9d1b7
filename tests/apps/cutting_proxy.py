"""A TCP proxy that can lose responses: the request reaches the server (and, in
autocommit, commits) but the connection dies before the client sees the answer.

That is what a network partition, a NAT/firewall timeout or a load balancer
restart does to a client; PostgreSQL itself terminating a backend cannot
produce it (it aborts the statement instead).
"""
from __future__ import annotations

import select
import socket
import threading
import time


class CuttingProxy:
    def __init__(self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((listen_host, 0))
        self.server.listen(128)
        self.port = self.server.getsockname()[1]
        self.cut_until = 0.0       # monotonic: until then, answers to requests are dropped
        self.cuts = 0              # connections cut with a request in flight
        self.lock = threading.Lock()
        self.closed = False
        self.sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, name="cutting-proxy", daemon=True).start()

    def cut_responses_for(self, seconds: float) -> None:
        """For ``seconds``, every connection whose request has reached the server is
        closed when the answer arrives, instead of passing the answer on."""
        self.cut_until = time.monotonic() + seconds

    def close(self) -> None:
        self.closed = True
        self.server.close()
        with self.lock:
            for sock in list(self.sockets):
                try:
                    sock.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self.lock:
            self.sockets.update((client, upstream))
        request_in_flight = False
        try:
            while not self.closed:
                readable, _, _ = select.select([client, upstream], [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        upstream.sendall(data)
                        request_in_flight = True
                    elif request_in_flight and time.monotonic() < self.cut_until:
                        with self.lock:
                            self.cuts += 1
                        return  # the server did the work; the client never hears of it
                    else:
                        client.sendall(data)
                        request_in_flight = False
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            with self.lock:
                self.sockets.difference_update((client, upstream))
