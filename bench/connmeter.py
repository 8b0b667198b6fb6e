#!/usr/bin/env python3
"""A counting TCP relay on loopback: how many connections a client opens to a
server, and how many it holds open at once.

    client --> ConnMeter (127.0.0.1:P) --> upstream (moto_server)

Bytes are copied unchanged in both directions (two threads per connection).

    from connmeter import ConnMeter
    with ConnMeter("http://127.0.0.1:5000") as m:
        ... point the client at m.url ...
        m.stats()   # {"connections": total accepted, "max_concurrent": .., "max_in_flight": ..,
                    #  "bytes_up": .., "bytes_down": ..}

max_concurrent counts connections from accept until both directions are
closed, as the relay sees them (its threads notice a close a little late, so a
client that opens its next connection right after the last answer can be
counted twice). max_in_flight counts requests being served: from the first
byte the client sends until the last byte of the answer (its Content-Length)
is handed to the client, accounted before that byte is forwarded, so a client
doing one call at a time is never seen with two.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse


class ConnMeter:
    def __init__(self, upstream_url: str):
        u = urlparse(upstream_url)
        self.upstream = (u.hostname or "127.0.0.1", u.port or 80)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.lock = threading.Lock()
        self.active = 0
        self.in_flight = 0
        self.counters = {"connections": 0, "max_concurrent": 0, "max_in_flight": 0, "bytes_up": 0, "bytes_down": 0}
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "ConnMeter":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "ConnMeter":
        return self.__enter__()

    def stop(self) -> None:
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self) -> None:
        with self.lock:
            for k in self.counters:
                self.counters[k] = 0
            self.counters["max_concurrent"] = self.active
            self.counters["max_in_flight"] = self.in_flight

    def stats(self) -> dict:
        with self.lock:
            return dict(self.counters)

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=30)
            except OSError:
                client.close()
                continue
            for s in (client, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
            with self.lock:
                self.active += 1
                self.counters["connections"] += 1
                self.counters["max_concurrent"] = max(self.counters["max_concurrent"], self.active)
            done = threading.Semaphore(0)
            state = {"requests": 0, "head": b"", "remaining": None}
            threading.Thread(target=self._pump, args=(client, up, "bytes_up", done, state), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, "bytes_down", done, state), daemon=True).start()
            threading.Thread(target=self._close_when_done, args=(client, up, done), daemon=True).start()

    def _request_started(self, state: dict) -> None:
        with self.lock:
            if state["requests"] == 0:
                state["requests"] = 1
                self.in_flight += 1
                self.counters["max_in_flight"] = max(self.counters["max_in_flight"], self.in_flight)

    def _answer_done(self, state: dict) -> None:
        with self.lock:
            if state["requests"] == 1:
                state["requests"] = 0
                self.in_flight -= 1

    def _answer_progress(self, state: dict, data: bytes) -> None:
        """Follow the answer's head and Content-Length; call _answer_done before its last byte goes out."""
        if state["remaining"] is None:
            state["head"] += data
            while True:
                end = state["head"].find(b"\r\n\r\n")
                if end < 0:
                    return
                head, rest = state["head"][:end], state["head"][end + 4:]
                if head.startswith(b"HTTP/1.1 1") or head.startswith(b"HTTP/1.0 1"):   # 100 Continue: skip
                    state["head"] = rest
                    continue
                length = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is None:
                    state["remaining"] = -1          # until the server closes
                    return
                state["remaining"] = length - len(rest)
                state["head"] = b""
                break
        elif state["remaining"] >= 0:
            state["remaining"] -= len(data)
        if state["remaining"] is not None and 0 <= state["remaining"] <= 0:
            self._answer_done(state)
            state["remaining"] = None

    def _pump(self, src: socket.socket, dst: socket.socket, counter: str, done: threading.Semaphore,
              state: dict) -> None:
        n = 0
        up = counter == "bytes_up"
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if up:
                    self._request_started(state)
                else:
                    self._answer_progress(state, data)
                dst.sendall(data)
                n += len(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if not up:
                self._answer_done(state)
            with self.lock:
                self.counters[counter] += n
            done.release()

    def _close_when_done(self, a: socket.socket, b: socket.socket, done: threading.Semaphore) -> None:
        done.acquire()
        done.acquire()
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass
        with self.lock:
            self.active -= 1
