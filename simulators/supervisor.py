"""The demo's gate supervisor, working through central as a person at the console would.

It logs in with the generated ``demo_supervisor`` account, watches ``/console/live`` and answers
each gate waiting for a supervisor (B4/B5: a fingerprint or face that did not match) through
``POST /api/v1/commands``: a retry while the gate allows one, then the counter. Central signs
each command, the gate verifies and acknowledges it, and both ends record it, exactly as for an
officer. Holds (cekal) are left to the people using the demo: releasing one takes a reason.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import threading
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

MAX_RETRIES = 2  # edge/gate/config.py GateConfig.max_retries: beyond it the gate refuses a retry


class SupervisorBot:
    """Answers gates in ``awaiting_supervisor`` from central's console API, on its own thread."""

    def __init__(self, base_url: str, username: str, password: str, stop: threading.Event, *,
                 poll_s: float = 1.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self._password = username, password
        self.stop, self.poll_s = stop, poll_s
        self.commands_sent = 0
        self._answered: set[tuple[str, str, int]] = set()  # (gate, transaction, retries)
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._csrf = ""
        self._thread = threading.Thread(target=self._run, name="demo-supervisor", daemon=True)

    def start(self) -> SupervisorBot:
        self._thread.start()
        return self

    def join(self, timeout_s: float = 5.0) -> None:
        self._thread.join(timeout_s)

    # -- HTTP --------------------------------------------------------------------------------
    def _request(self, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers or {})
        with self._opener.open(request, timeout=10) as response:
            return response.read()

    def log_in(self) -> None:
        page = self._request("/login").decode("utf-8", "replace")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        form = {"username": self.username, "password": self._password, "csrf_token": found.group(1) if found else ""}
        self._request("/login", data=urllib.parse.urlencode(form).encode())
        self._csrf = json.loads(self._request("/api/v1/me"))["csrf_token"]

    def command(self, gate_id: str, action: str, transaction_id: str | None, reason: str) -> None:
        body = json.dumps({"gate_id": gate_id, "action": action, "reason": reason,
                           "transaction_id": transaction_id}).encode()
        self._request("/api/v1/commands", data=body,
                      headers={"Content-Type": "application/json", "X-CSRF-Token": self._csrf})
        self.commands_sent += 1

    # -- the decisions -----------------------------------------------------------------------
    def step(self) -> None:
        """One look at the console: answer every gate newly waiting for a supervisor."""
        live = json.loads(self._request("/console/live"))
        for gate in live.get("gates", []):
            if gate.get("state") != "awaiting_supervisor" or not gate.get("transaction_id"):
                continue
            retries = int(gate.get("retries") or 0)
            key = (gate["id"], gate["transaction_id"], retries)
            if key in self._answered:
                continue
            self._answered.add(key)
            action = "grant_retry" if retries < MAX_RETRIES else "send_to_counter"
            reason = ("demo supervisor: traveller asked to try again" if action == "grant_retry"
                      else "demo supervisor: to the counter for a manual check")
            self.command(gate["id"], action, gate["transaction_id"], reason)
            log.info("demo supervisor: %s at %s", action, gate["id"])

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self._csrf:
                    self.log_in()
                self.step()
            except Exception as exc:  # central restarting, a refused command: try again next poll
                log.warning("demo supervisor: %s", exc)
                self._csrf = ""
            self.stop.wait(self.poll_s)
