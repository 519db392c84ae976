"""A console user over plain HTTP (http.client): log in as a browser does, read pages, hold an
event stream open. Shared by the web load bench (bench/central/web_load.py) and the test that
runs several central processes (tests/e2e/test_e2e_web_processes.py); loopback only."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_COOKIE = "autogate_session"


class LoginFailed(RuntimeError):
    """The server did not log the user in."""


def _cookie_from(response: http.client.HTTPResponse) -> str | None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith(_COOKIE + "="):
            return value.split(";", 1)[0]
    return None


@dataclass
class ConsoleUser:
    """One signed-in user with a keep-alive connection of its own."""

    host: str
    port: int
    timeout_s: float = 30.0
    cookie: str = ""
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return self._conn

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        """(status, body, response) on the kept-alive connection; reconnects once if it was closed."""
        sent = {"Cookie": self.cookie} if self.cookie else {}
        sent.update(headers or {})
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=sent)
                response = conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data, response
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def login(self, username: str, password: str) -> None:
        status, page, response = self.request("GET", "/login")
        match = _CSRF.search(page.decode("utf-8", "replace"))
        self.cookie = _cookie_from(response) or self.cookie
        if status != 200 or match is None:
            raise LoginFailed(f"GET /login answered {status}")
        form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": match.group(1)})
        status, _body, response = self.request(
            "POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        cookie = _cookie_from(response)
        if status != 302 or cookie is None:
            raise LoginFailed(f"POST /login answered {status}")
        self.cookie = cookie

    def timed_get(self, path: str) -> tuple[int, float]:
        """(status, milliseconds) of one GET."""
        t0 = time.perf_counter()
        status, _body, _response = self.request("GET", path)
        return status, (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class EventStream:
    """``GET /console/stream`` held open on its own connection; frames are collected by a thread.

    ``opened`` is set once the first frame (sent after the server subscribed) has arrived, so a
    notice committed after that reaches this stream. ``events`` are (name, data) in arrival order."""

    def __init__(self, host: str, port: int, cookie: str, *, path: str = "/console/stream", timeout_s: float = 60.0) -> None:
        self.status: int | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.events: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        self._conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/event-stream"})
        self._thread = threading.Thread(target=self._read, name="sse-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            response = self._conn.getresponse()
            self.status = response.status
            if response.status != 200:
                response.read()
                self._conn.close()  # as a browser's EventSource does after a refusal
                return
            name, data = "message", ""
            while True:
                line = response.readline()
                if not line:
                    return
                text = line.decode("utf-8").rstrip("\r\n")
                if not self.opened.is_set():
                    self.opened.set()
                if text.startswith("event:"):
                    name = text[6:].strip()
                elif text.startswith("data:"):
                    data += text[5:].strip()
                elif text == "":
                    if data:
                        with self._lock:
                            self.events.append((name, json.loads(data)))
                    name, data = "message", ""
        except (OSError, http.client.HTTPException, ValueError):
            return
        finally:
            self.opened.set()  # also on refusal: whoever waits learns the status
            self.ended.set()

    def of_kind(self, name: str) -> list[dict]:
        with self._lock:
            return [data for event, data in self.events if event == name]

    def close(self) -> None:
        """Hang up: the reader sees the end of the stream and stops, then the connection closes."""
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._conn.close()
