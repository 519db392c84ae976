"""The demo's gate supervisor, working through central as a person at the console would.

It logs in with the generated ``demo_supervisor`` account, watches ``/console/live`` and answers
through ``POST /api/v1/commands``, using only the commands each gate says it accepts now:

- a gate waiting for a supervisor (B4/B5: a fingerprint or face that did not match): a retry
  while the gate allows one, then the counter;
- a hold (B3): after ``release_after_s`` (the officers walking over), the release to the officers;
- a traveller who has not left after a referral for ``lane_clear_after_s``: "lane clear".

Central signs each command, the gate verifies and acknowledges it, and both ends record it,
exactly as for an officer.
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



class SupervisorBot:
    """Answers gates in ``awaiting_supervisor`` from central's console API, on its own thread."""

    def __init__(self, base_url: str, username: str, password: str, stop: threading.Event, *,
                 poll_s: float = 1.0, release_after_s: float = 8.0, lane_clear_after_s: float = 45.0) -> None:
        self.release_after_s, self.lane_clear_after_s = release_after_s, lane_clear_after_s
        self.base_url = base_url.rstrip("/")
        self.username, self._password = username, password
        self.stop, self.poll_s = stop, poll_s
        self.commands_sent = 0
        self._answered: set[tuple[str, str, int, str]] = set()  # (gate, transaction, retries, action)
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
            decision = self.decide(gate)
            if decision is None:
                continue
            action, reason = decision
            key = (gate["id"], str(gate.get("transaction_id")), int(gate.get("retries") or 0), action)
            if key in self._answered:
                continue
            self._answered.add(key)
            self.command(gate["id"], action, gate.get("transaction_id"), reason)
            log.info("demo supervisor: %s at %s", action, gate["id"])

    def decide(self, gate: dict[str, Any]) -> tuple[str, str] | None:
        """The command this supervisor gives *gate* now (action, reason), or None."""
        offered = set(gate.get("commands") or ())
        waited_s = float(gate.get("time_in_state_s") or 0)
        state = gate.get("state")
        if state == "awaiting_supervisor" and gate.get("transaction_id"):
            if "grant_retry" in offered:  # the gate offers it only while a retry is left
                return "grant_retry", "demo supervisor: traveller asked to try again"
            if "send_to_counter" in offered:
                return "send_to_counter", "demo supervisor: to the counter for a manual check"
        if state == "held" and "release_held" in offered and waited_s >= self.release_after_s:
            return "release_held", "demo supervisor: officers took the traveller to the cekal office (tpi-03)"
        if state == "return_to_counter" and "lane_clear" in offered and waited_s >= self.lane_clear_after_s:
            return "lane_clear", "demo supervisor: checked the lane, nobody inside"
        return None

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
