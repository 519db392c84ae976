// Supervisor console: poll the live JSON every few seconds and redraw the three tables.
// Text goes in with textContent only, never innerHTML: gate data is not trusted markup.
"use strict";
(function () {
  const root = document.getElementById("console");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const pollMs = parseInt(root.dataset.pollMs, 10) || 2000;
  const canCommand = root.dataset.canCommand === "yes";
  const statusLine = document.getElementById("status");

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function clear(tableId) {
    const body = document.querySelector("#" + tableId + " tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    return body;
  }

  function fmtTime(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; }

  function fmtDuration(s) {
    if (s == null) return "";
    const m = Math.floor(s / 60);
    return m > 0 ? m + " min " + (s % 60) + " s" : s + " s";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      alert("Refused: " + (data.message || data.reason || response.status));
    }
    refresh();
  }

  function commandButton(td, gate, action, label) {
    const b = document.createElement("button");
    b.className = "act";
    b.textContent = label;
    b.addEventListener("click", () => {
      const reason = window.prompt(label + " at gate " + gate.id + ": reason (required)");
      if (!reason || reason.trim().length < 3) return;
      post(root.dataset.commandUrl, {
        gate_id: gate.id, action: action, reason: reason.trim(), transaction_id: gate.transaction_id,
      });
    });
    td.appendChild(b);
  }

  function drawGates(gates) {
    const body = clear("gates");
    for (const g of gates) {
      const tr = document.createElement("tr");
      cell(tr, g.name || g.id);
      cell(tr, g.direction === "departure" ? "departure (keberangkatan)" : "arrival (kedatangan)");
      cell(tr, g.online ? "online" : "OFFLINE", g.online ? "online" : "offline");
      cell(tr, g.state || "unknown");
      cell(tr, g.entry_door);
      cell(tr, g.exit_door);
      cell(tr, fmtDuration(g.time_in_state_s));
      cell(tr, g.traveler ? g.traveler.name : "");
      cell(tr, g.traveler ? g.traveler.document_number : "");
      const actions = cell(tr, "");
      if (canCommand) {
        if (g.state === "awaiting_supervisor") {
          commandButton(actions, g, "grant_retry", "Grant retry");
          commandButton(actions, g, "send_to_counter", "Send to counter");
        }
        if (g.state === "held") commandButton(actions, g, "release_held", "Release to officer");
        if (g.alarm) commandButton(actions, g, "acknowledge_alarm", "Acknowledge alarm");
      }
      body.appendChild(tr);
    }
  }

  function drawAlerts(alerts) {
    const body = clear("alerts");
    for (const a of alerts) {
      const tr = document.createElement("tr");
      tr.className = "sev-" + a.severity + (a.acknowledged_at ? " acked" : "");
      cell(tr, fmtTime(a.created_at));
      cell(tr, a.gate_id);
      cell(tr, a.severity);
      cell(tr, a.message);
      const t = a.details && a.details.traveler;
      cell(tr, t ? [t.given_names, t.surname].filter(Boolean).join(" ") + " · " + t.document_number : "");
      const td = cell(tr, a.acknowledged_at ? "ack " + (a.acknowledged_by || "") : "");
      if (!a.acknowledged_at) {
        const b = document.createElement("button");
        b.textContent = "Acknowledge";
        b.addEventListener("click", () => post(root.dataset.ackUrl + a.id + "/ack", {}));
        td.appendChild(b);
      }
      body.appendChild(tr);
    }
  }

  function drawCrossings(rows) {
    const body = clear("crossings");
    for (const c of rows) {
      const tr = document.createElement("tr");
      cell(tr, fmtTime(c.completed_at));
      cell(tr, c.gate_id);
      cell(tr, c.direction);
      cell(tr, [c.given_names, c.surname].filter(Boolean).join(" "));
      cell(tr, c.document_number);
      cell(tr, c.nationality);
      body.appendChild(tr);
    }
  }

  async function refresh() {
    try {
      const response = await fetch(root.dataset.liveUrl, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401 || response.redirected) { window.location.reload(); return; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      drawAlerts(data.alerts);
      drawGates(data.gates);
      drawCrossings(data.crossings);
      statusLine.textContent = "Updated " + new Date().toLocaleTimeString();
      statusLine.classList.remove("stale");
    } catch (err) {
      statusLine.textContent = "Not updating: " + err.message;
      statusLine.classList.add("stale");
    }
  }

  refresh();
  window.setInterval(refresh, pollMs);
})();
