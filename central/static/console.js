// Supervisor console. Alerts and gate changes arrive on an EventSource (server-sent events) as
// ingest commits them; the full view is re-read now and then, and every two seconds while the
// stream is down. Text goes in with textContent only, never innerHTML: gate data is not trusted
// markup. No inline script and no external file: the page runs under a strict CSP.
"use strict";
(function () {
  const root = document.getElementById("console");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const pollMs = parseInt(root.dataset.pollMs, 10) || 2000;
  const resyncMs = parseInt(root.dataset.resyncMs, 10) || 30000;
  const canCommand = root.dataset.canCommand === "yes";
  const mrzFields = (root.dataset.mrzFields || "").split(",").filter(Boolean);
  const strings = JSON.parse(document.getElementById("console-strings").textContent || "{}");
  const lang = document.documentElement.lang || "en";
  const statusLine = document.getElementById("status");
  const linkMode = document.getElementById("link-mode");
  const banner = document.getElementById("alarm-banner");
  const HOLD = "watchlist_hold";
  const MISMATCH = "biometric_mismatch";
  // The order the gate's accepted commands (GateState.commands) are offered in.
  const COMMAND_ORDER = ["grant_retry", "send_to_counter", "release_held", "lane_clear", "acknowledge_alarm",
    "out_of_service", "back_in_service", "reset"];
  const REFUSAL_SHOWN_MS = 5 * 60 * 1000;  // a gate's refusal stays on its card this long
  // SOP tpi-03 steps 5 and 6 (sop/autogate.md §9 E1): report within 5 min, then secure within 5 min.
  const CASE_DEADLINES_S = [["Report to Head of Section", 300], ["Secure the traveller", 600]];

  function t(text) { return strings[text] || text; }
  // A coded label ("state.held"), or the code itself in words when the table lacks it.
  function label(kind, code) {
    const key = kind + "." + code;
    return strings[key] || String(code || "").replace(/_/g, " ");
  }

  const model = { gates: new Map(), alerts: new Map(), crossings: [], receivedAt: Date.now(), cases: new Map() };

  // ---- drawing helpers -------------------------------------------------------------------
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function cell(row, text, className) { const td = el("td", text, className); row.appendChild(td); return td; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  // Officers read Soekarno-Hatta's time (WIB, UTC+7) whatever the browser's zone.
  const WIB = { timeZone: "Asia/Jakarta", hour12: false };
  function fmtTime(iso) {
    return iso ? new Date(iso).toLocaleTimeString("en-GB", WIB) + " WIB" : "";
  }
  function fmtNow() { return new Date().toLocaleTimeString("en-GB", WIB) + " WIB"; }
  function fmtDuration(s) {
    if (s == null || isNaN(s)) return "";
    s = Math.max(0, Math.floor(s));
    const m = Math.floor(s / 60), r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }
  function travellerName(t0) { return t0 ? [t0.given_names, t0.surname].filter(Boolean).join(" ") : ""; }

  // ---- sound on a hold: a Web Audio tone, repeated until every hold is acknowledged -------
  const sound = {
    ctx: null, timer: null,
    muted: window.localStorage.getItem("autogate.muted") === "yes",
    button: document.getElementById("sound-toggle"),
    state: document.getElementById("sound-state"),
    ensureContext() {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      if (!this.ctx) this.ctx = new Ctx();
      if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
      return this.ctx;
    },
    beep() {
      const ctx = this.ensureContext();
      if (!ctx) return;
      const now = ctx.currentTime;
      for (const [offset, freq] of [[0, 880], [0.35, 660]]) {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.3);
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + offset);
        osc.stop(now + offset + 0.32);
      }
    },
    update(alarming) {
      const playing = alarming && !this.muted;
      if (playing && !this.timer) {
        this.beep();
        this.timer = window.setInterval(() => this.beep(), 1500);
      } else if (!playing && this.timer) {
        window.clearInterval(this.timer);
        this.timer = null;
      }
      this.button.textContent = this.muted ? t("Unmute sound") : t("Mute sound");
      this.button.dataset.muted = this.muted ? "yes" : "no";
      this.state.dataset.playing = playing ? "yes" : "no";
      const suspended = playing && this.ctx && this.ctx.state === "suspended";
      this.state.textContent = playing ? (suspended ? t("Click anywhere to allow the alarm sound") : t("Alarm sounding"))
        : (alarming ? t("Sound muted") : "");
    },
  };
  sound.button.addEventListener("click", () => {
    sound.muted = !sound.muted;
    window.localStorage.setItem("autogate.muted", sound.muted ? "yes" : "no");
    sound.update(unackedHolds().length > 0);
  });
  // Browsers start audio only after a gesture on the page: any click unlocks it.
  document.addEventListener("click", () => { sound.ensureContext(); }, { capture: true });

  // ---- requests --------------------------------------------------------------------------
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      statusLine.textContent = t("Refused") + ": " + (data.message || data.reason || response.status);
      statusLine.classList.add("stale");
    }
    refresh();
    return response.ok ? data : null;
  }

  function acknowledge(alertId) { return post(root.dataset.ackUrl + alertId + "/ack", {}); }

  // One alarm, one acknowledgement: the alert at central and, when the gate still sounds the
  // same alarm, the gate's own (an audited command).
  function acknowledgeWithGate(a) {
    return acknowledge(a.id).then((ok) => {
      const gate = model.gates.get(a.gate_id);
      if (ok && canCommand && gate && (gate.commands || []).includes("acknowledge_alarm")) {
        return post(root.dataset.commandUrl, { gate_id: gate.id, action: "acknowledge_alarm",
          reason: "alarm acknowledged at the console", transaction_id: gate.transaction_id });
      }
      return ok;
    });
  }

  function alertText(a) { return strings["alert." + a.kind] || a.message; }

  // "Pencegahan · KPK · <reason> · entry WL-1": the hit as the list holds it.
  function watchlistLine(a) {
    const w = a.details && a.details.watchlist;
    const entryId = (w && w.entry_id) || (a.details && a.details.details && a.details.details.watchlist_entry);
    if (!entryId) return "";
    const parts = [t("Watchlist entry") + " " + entryId];
    if (w && w.known) {
      parts.push(label("list", w.list));
      if (w.agency) parts.push(t("Agency") + ": " + w.agency);
      if (w.reason) parts.push(t("Reason") + ": " + w.reason);
    } else if (w) {
      parts.push(t("not in central's watchlist"));
    }
    return parts.join(" · ");
  }

  // ---- alarm banner (watchlist holds: stays until acknowledged) ----------------------------
  function unackedHolds() {
    return Array.from(model.alerts.values()).filter((a) => a.kind === HOLD && !a.acknowledged_at);
  }

  const shownAt = new Map();  // alert id -> when it first reached the screen (latency checks)
  let bannerShows = "";
  function drawBanner() {
    const holds = unackedHolds();
    // Rebuilt only when the holds change, so a click on "Acknowledge" never hits a replaced button.
    const shows = holds.map((a) => a.id).join(",");
    sound.update(holds.length > 0);
    if (shows === bannerShows) return;
    bannerShows = shows;
    clear(banner);
    banner.hidden = holds.length === 0;
    for (const a of holds) {
      const box = el("div", null, "alarm");
      box.dataset.alertId = a.id;
      box.dataset.gateId = a.gate_id || "";
      if (!shownAt.has(a.id)) shownAt.set(a.id, Date.now());
      box.dataset.shownAt = String(shownAt.get(a.id));
      box.appendChild(el("strong", t("WATCHLIST HOLD") + " · " + t("Gate") + " " + (a.gate_id || "?")));
      box.appendChild(el("div", alertText(a)));
      const trav = a.details && a.details.traveler;
      if (trav) box.appendChild(el("div", travellerName(trav) + " · " + trav.document_number + " · " + trav.nationality, "who"));
      const entry = watchlistLine(a);
      if (entry) box.appendChild(el("div", entry, "watchlist-entry"));
      const ack = el("button", t("Acknowledge alarm"), "ack");
      ack.type = "button";
      ack.addEventListener("click", () => acknowledgeWithGate(a));
      box.appendChild(ack);
      banner.appendChild(box);
    }
  }

  // ---- gates -------------------------------------------------------------------------------
  function holdAlertFor(gateId) {
    let found = null;
    for (const a of model.alerts.values()) {
      if (a.kind === HOLD && a.gate_id === gateId && (!found || a.id > found.id)) found = a;
    }
    return found;
  }

  // Half-typed reasons survive redraws (pushed events redraw the gate cards at any moment).
  const pendingReasons = new Map();
  function actionForm(card, gate, action, label) {
    const key = gate.id + "|" + action;
    const form = el("form", null, "action");
    form.dataset.action = action;
    form.dataset.key = key;
    const button = el("button", label, "act");
    button.type = "button";
    const reason = el("input");
    reason.name = "reason";
    reason.placeholder = t("Reason (required)");
    reason.maxLength = 500;
    reason.hidden = true;
    const confirm = el("button", t("Confirm"), "confirm");
    confirm.type = "submit";
    confirm.hidden = true;
    if (pendingReasons.has(key)) { reason.value = pendingReasons.get(key); reason.hidden = false; confirm.hidden = false; }
    reason.addEventListener("input", () => pendingReasons.set(key, reason.value));
    button.addEventListener("click", () => {
      if (!pendingReasons.has(key)) pendingReasons.set(key, "");
      reason.hidden = false; confirm.hidden = false; reason.focus();
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = reason.value.trim();
      if (text.length < 3) {
        reason.classList.add("invalid");
        reason.placeholder = t("A reason of at least 3 characters is required");
        return;
      }
      pendingReasons.delete(key);
      post(root.dataset.commandUrl, { gate_id: gate.id, action: action, reason: text, transaction_id: gate.transaction_id })
        .then((ok) => { if (ok) { statusLine.textContent = label + ": " + t("sent to gate") + " " + gate.id; statusLine.dataset.lastCommand = action; } });
    });
    form.append(button, reason, confirm);
    card.appendChild(form);
  }

  function drawMrz(card, gate) {
    const hold = holdAlertFor(gate.id);
    const source = gate.mrz || (hold && !hold.acknowledged_at && hold.details && hold.details.traveler) || null;
    if (!source) return;
    const dl = el("dl", null, "mrz");
    for (const name of mrzFields) {
      dl.appendChild(el("dt", t("mrz." + name)));
      dl.appendChild(el("dd", source[name] == null ? "" : source[name]));
    }
    card.appendChild(dl);
  }

  // The alerts of the traveller now in the gate, newest first.
  function transactionAlerts(gate) {
    if (!gate.transaction_id) return [];
    return Array.from(model.alerts.values())
      .filter((a) => a.gate_id === gate.id && a.details && a.details.transaction_id === gate.transaction_id)
      .sort((a, b) => b.id - a.id);
  }

  const faceCache = new Map();  // gate/transaction -> "missing" | {captured, enrolled, score, ...}
  function loadFaces(gate, key) {
    faceCache.set(key, "loading");
    fetch(root.dataset.facesUrl + encodeURIComponent(gate.id) + "/faces/" + encodeURIComponent(gate.transaction_id),
      { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { faceCache.set(key, data || "missing"); drawGates(); })
      .catch(() => { faceCache.set(key, "missing"); });
  }

  function scoreText(result) {
    if (!result) return t("not checked yet");
    if (result.refused) return t("refused") + ": " + result.refused;
    const score = result.score == null ? "?" : Number(result.score).toFixed(3);
    const threshold = result.threshold == null ? "?" : Number(result.threshold).toFixed(3);
    return score + " / " + t("threshold") + " " + threshold + " · " + (result.match ? t("match") : t("no match"));
  }

  function modalityResult(details, modality) {
    if (!details || details[modality + "_match"] == null) return null;
    return { match: details[modality + "_match"], score: details[modality + "_score"],
      threshold: details[modality + "_threshold"], refused: details[modality + "_refused"] };
  }

  // What the supervisor decides on: the watchlist hit, each biometric's score against its
  // threshold, and the captured face beside the document photo.
  function drawEvidence(card, gate) {
    const related = transactionAlerts(gate);
    const hold = related.find((a) => a.kind === HOLD);
    const mismatch = related.find((a) => a.kind === MISMATCH);
    if (!hold && !mismatch && gate.state !== "held" && gate.state !== "awaiting_supervisor") return;
    const box = el("section", null, "evidence");
    if (hold) box.appendChild(el("div", watchlistLine(hold), "watchlist-entry"));
    const key = gate.id + "/" + gate.transaction_id;
    let faces = faceCache.get(key);
    if (gate.faces && (faces === undefined || faces === "missing")) { loadFaces(gate, key); faces = "loading"; }
    const known = faces && typeof faces === "object" ? faces : null;
    const details = mismatch && mismatch.details && mismatch.details.details;
    const failed = details && details.step;
    const bio = el("dl", null, "biometrics");
    const faceResult = modalityResult(details, "face") || (known && { match: known.score != null && known.threshold != null
      && known.score >= known.threshold, score: known.score, threshold: known.threshold, refused: known.refused_reason });
    for (const [modality, result] of [["fingerprint", modalityResult(details, "fingerprint")], ["face", faceResult]]) {
      if (hold && modality === "fingerprint" && !result) continue;  // a hold stops before the finger
      const dt = el("dt", t(modality === "fingerprint" ? "Fingerprint" : "Face"));
      const dd = el("dd", scoreText(result), "score-" + modality + (failed === modality ? " failed" : ""));
      dd.dataset.modality = modality;
      bio.append(dt, dd);
    }
    box.appendChild(bio);
    if (known) {
      const pics = el("div", null, "faces");
      const enrolledLabel = known.enrolled_source === "document" ? t("Document photo") : t("Enrolled face");
      for (const [caption, field] of [[t("Captured face"), "captured"], [enrolledLabel, "enrolled"]]) {
        if (!known[field]) continue;
        const fig = el("figure");
        const img = el("img");
        img.src = known[field];
        img.alt = caption;
        fig.append(img, el("figcaption", caption));
        pics.appendChild(fig);
      }
      box.appendChild(pics);
    } else if (gate.state === "held") {
      box.appendChild(el("div", t("Waiting for the gate camera's picture"), "faces-pending"));
    }
    card.appendChild(box);
  }

  // The gate's answer to the last command sent to it, while it matters.
  function drawLastCommand(card, gate) {
    const c = gate.last_command;
    if (!c || !c.issued_at || Date.now() - new Date(c.issued_at).getTime() > REFUSAL_SHOWN_MS) return;
    const what = label("command", c.action);
    if (c.status === "refused") {
      card.appendChild(el("div", t("Refused by the gate") + ": " + what + " · " + refusalText(c.ack_reason), "command-refused"));
    } else if (c.status === "sent" || c.status === "pending") {
      card.appendChild(el("div", what + ": " + t("sent, waiting for the gate's answer"), "command-pending"));
    } else if (c.status === "not_sent") {
      card.appendChild(el("div", what + ": " + t("not sent (no broker connection)"), "command-refused"));
    }
  }

  // The gate explains a refusal in its own words ("out_of_service not allowed in
  // return_to_counter (needs ...)"); the common ones are said in the reader's language.
  function refusalText(reason) {
    const text = String(reason || "");
    const notAllowed = /^([a-z_]+) not allowed in ([a-z_]+)/.exec(text);
    if (notAllowed) return t("not possible while the gate is") + " " + label("state", notAllowed[2]);
    if (text === "expired") return t("the command expired before it reached the gate");
    if (text === "duplicate command id") return t("already received");
    if (text.startsWith("command for gate")) return t("sent to the wrong gate");
    return text;
  }

  function drawCaseClock(card, gate) {
    const box = caseClock(gate);
    if (box) card.appendChild(box);
  }

  function caseClock(gate) {
    const hold = holdAlertFor(gate.id);
    if (gate.state !== "held" && !(hold && !hold.acknowledged_at)) return null;
    const box = el("div", null, "case-clock");
    const openCase = model.cases.get(gate.id);
    if (openCase) {
      // The escalation service's case clock (central/cases: case_view()["clock"]).
      box.dataset.source = "case";
      const title = lang === "id" ? (openCase.workflow_title_id || openCase.workflow_title) : openCase.workflow_title;
      box.appendChild(el("strong", t("Cekal case") + " #" + openCase.id + (title ? " · " + title : "")));
      const clock = openCase.clock || {};
      const words = openCase.step_action;
      // The step in words: who acts (the SOP's Indonesian title) and, in English, what they do.
      if (words) box.appendChild(el("div", t("Step") + ": " + (lang === "id" ? words.actor_id : words.en + " (" + words.actor_en + ")"), "case-step"));
      if (clock.due_at_ms) {
        const left = (clock.due_at_ms - Date.now()) / 1000;
        box.appendChild(el("div", left >= 0 ? t("due in") + " " + fmtDuration(left) : t("OVERDUE by") + " " + fmtDuration(-left),
          left >= 0 ? "clock" : "clock overdue"));
      } else if (clock.elapsed_s != null) {
        box.appendChild(el("div", fmtDuration(clock.elapsed_s) + (clock.standard_s ? " / " + fmtDuration(clock.standard_s) : ""),
          clock.overdue ? "clock overdue" : "clock"));
      }
    } else {
      box.dataset.source = "local";
      const since = hold ? new Date(hold.created_at).getTime() : Date.now() - (gate.time_in_state_s || 0) * 1000;
      const elapsed = (Date.now() - since) / 1000;
      box.appendChild(el("strong", t("Time since hold") + " " + fmtDuration(elapsed)));
      for (const [label, limit] of CASE_DEADLINES_S) {
        box.appendChild(el("div", t(label) + ": " + fmtDuration(elapsed) + " / " + fmtDuration(limit),
          elapsed > limit ? "clock overdue" : "clock"));
      }
    }
    return box;
  }

  function drawGates() {
    const active = document.activeElement;
    const focusedKey = active && active.name === "reason" && active.form ? active.form.dataset.key : null;
    const container = document.getElementById("gates");
    const elapsed = (Date.now() - model.receivedAt) / 1000;
    const previous = new Map(Array.from(container.children).map((c) => [c.id, c]));
    clear(container);
    for (const gate of model.gates.values()) {
      // A card whose facts did not change is kept as it is: its buttons are not replaced under
      // the supervisor's pointer (time in state and the case clock tick on their own).
      const hold = holdAlertFor(gate.id);
      const signature = JSON.stringify([Object.assign({}, gate, { time_in_state_s: null }),
        transactionAlerts(gate).map((a) => [a.id, a.acknowledged_at]), hold && [hold.id, hold.acknowledged_at],
        model.cases.get(gate.id) || null, faceCache.get(gate.id + "/" + gate.transaction_id) || null, canCommand]);
      const kept = previous.get("gate-" + gate.id);
      if (kept && kept.dataset.signature === signature) { container.appendChild(kept); continue; }
      const card = el("article", null, "gate state-" + (gate.state || "unknown") + (gate.online ? "" : " offline-card"));
      card.id = "gate-" + gate.id;
      card.dataset.signature = signature;
      card.dataset.state = gate.state || "";
      const head = el("header");
      head.appendChild(el("strong", gate.name || gate.id));
      head.appendChild(el("span", gate.direction === "departure" ? t("departure (keberangkatan)") : t("arrival (kedatangan)")));
      head.appendChild(el("span", gate.online ? t("online") : t("OFFLINE"), gate.online ? "online" : "offline"));
      card.appendChild(head);
      const facts = el("dl", null, "facts");
      const timeInState = gate.time_in_state_s == null ? null : gate.time_in_state_s + elapsed;
      for (const [label, value, cls] of [
        [t("State"), gate.state ? t("state." + gate.state) : t("unknown"), "state"],
        [t("Entry door"), gate.entry_door ? t("door." + gate.entry_door) : "", "entry-door"],
        [t("Exit door"), gate.exit_door ? t("door." + gate.exit_door) : "", "exit-door"],
        [t("In state"), fmtDuration(timeInState), "time-in-state"],
        [t("Retries"), gate.retries == null ? "" : gate.retries, "retries"],
      ]) {
        facts.appendChild(el("dt", label));
        facts.appendChild(el("dd", value, cls));
      }
      card.appendChild(facts);
      if (gate.alarm) card.appendChild(el("div", t("Gate alarm") + ": " + label("alarm", gate.alarm), "gate-alarm"));
      drawMrz(card, gate);
      drawEvidence(card, gate);
      drawCaseClock(card, gate);
      drawLastCommand(card, gate);
      if (canCommand) {
        // Only what the gate says it accepts in its state: nothing the gate would refuse.
        const offered = gate.commands || [];
        for (const action of COMMAND_ORDER) {
          if (offered.includes(action)) actionForm(card, gate, action, label("command", action));
        }
      }
      container.appendChild(card);
    }
    if (focusedKey) {
      const again = container.querySelector('form[data-key="' + CSS.escape(focusedKey) + '"] input[name="reason"]');
      if (again) { again.focus(); again.setSelectionRange(again.value.length, again.value.length); }
    }
  }

  // ---- alerts and crossings tables -----------------------------------------------------------
  function sortedAlerts() {
    const order = { critical: 0, high: 1, warning: 2, info: 3 };
    return Array.from(model.alerts.values()).sort((a, b) =>
      (a.acknowledged_at ? 1 : 0) - (b.acknowledged_at ? 1 : 0) || (order[a.severity] ?? 9) - (order[b.severity] ?? 9) || b.id - a.id);
  }

  function drawAlerts() {
    const body = clear(document.querySelector("#alerts tbody"));
    for (const a of sortedAlerts().slice(0, 50)) {
      const tr = el("tr", null, "sev-" + a.severity + (a.acknowledged_at ? " acked" : ""));
      tr.dataset.alertId = a.id;
      tr.dataset.kind = a.kind;
      cell(tr, fmtTime(a.created_at));
      cell(tr, a.gate_id);
      cell(tr, t("severity." + a.severity));
      cell(tr, alertText(a));
      const trav = a.details && a.details.traveler;
      cell(tr, trav ? travellerName(trav) + " · " + trav.document_number : "");
      const td = cell(tr, a.acknowledged_at ? t("acknowledged by") + " " + (a.acknowledged_by || "") : "");
      if (!a.acknowledged_at) {
        const b = el("button", t("Acknowledge"));
        b.type = "button";
        b.addEventListener("click", () => acknowledgeWithGate(a));
        td.appendChild(b);
      }
      body.appendChild(tr);
    }
  }

  function drawCrossings() {
    const body = clear(document.querySelector("#crossings tbody"));
    for (const c of model.crossings) {
      const tr = el("tr");
      cell(tr, fmtTime(c.completed_at));
      cell(tr, c.gate_id);
      cell(tr, c.direction === "departure" ? t("departure (keberangkatan)") : t("arrival (kedatangan)"));
      cell(tr, travellerName(c));
      cell(tr, c.document_number);
      cell(tr, c.nationality);
      body.appendChild(tr);
    }
  }

  function drawAll() { drawBanner(); drawGates(); drawAlerts(); drawCrossings(); }

  // ---- case clocks: the escalation service, when it is there ---------------------------------
  let casesAvailable = true;
  async function loadCases() {
    if (!casesAvailable) return;
    const held = Array.from(model.gates.values()).filter((g) => g.state === "held" || holdAlertFor(g.id));
    for (const gate of held) {
      try {
        const r = await fetch(root.dataset.casesUrl + "?gate=" + encodeURIComponent(gate.id) + "&open=1", { credentials: "same-origin" });
        if (r.status === 404) { casesAvailable = false; return; }  // not deployed: keep the local clock
        if (!r.ok) continue;
        const data = await r.json();
        const list = Array.isArray(data) ? data : (data.cases || []);
        if (list.length) model.cases.set(gate.id, list[0]); else model.cases.delete(gate.id);
      } catch (err) { /* the local clock stays */ }
    }
  }

  // ---- live data: full reads and pushed events -------------------------------------------------
  function applyLive(data) {
    model.gates = new Map(data.gates.map((g) => [g.id, g]));
    model.alerts = new Map(data.alerts.map((a) => [a.id, a]));
    model.crossings = data.crossings;
    model.receivedAt = Date.now();
  }

  async function refresh() {
    try {
      const response = await fetch(root.dataset.liveUrl, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401 || response.redirected) { window.location.reload(); return; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      applyLive(await response.json());
      drawAll();
      statusLine.textContent = t("Updated") + " " + fmtNow();
      statusLine.classList.remove("stale");
      loadCases().then(drawGates);
    } catch (err) {
      console.error("console: refresh", err);
      statusLine.textContent = t("Not updating") + ": " + err.message;
      statusLine.classList.add("stale");
    }
  }

  function onPushed(kind, data) {
    if (kind === "alert") {
      model.alerts.set(data.id, data);
    } else if (kind === "gate") {
      // Re-base every gate's clock on this moment, so time in state stays right.
      const elapsed = (Date.now() - model.receivedAt) / 1000;
      for (const g of model.gates.values()) if (g.time_in_state_s != null) g.time_in_state_s += elapsed;
      model.receivedAt = Date.now();
      model.gates.set(data.id, data);
    } else if (kind === "crossing") {
      model.crossings = [data].concat(model.crossings.filter((c) => c.id !== data.id)).slice(0, 20);
    }
    drawAll();
    if (kind === "alert" && data.kind === HOLD) loadCases().then(drawGates);
  }

  let pollTimer = null;
  function setMode(mode) {
    linkMode.dataset.mode = mode;
    linkMode.textContent = mode === "live" ? t("Live (push)") : t("Polling");
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = window.setInterval(refresh, mode === "live" ? resyncMs : pollMs);
  }

  function connect() {
    if (!window.EventSource) { setMode("polling"); return; }
    const source = new EventSource(root.dataset.streamUrl);
    source.addEventListener("open", () => { setMode("live"); refresh(); });
    source.addEventListener("error", () => {
      setMode("polling");  // EventSource retries a dropped stream by itself...
      // ...but not one the server refused (503 when its stream slots are all taken): poll, and
      // ask again later, spread out so that refused consoles do not all come back at once.
      if (source.readyState === EventSource.CLOSED) window.setTimeout(connect, 20000 + Math.random() * 20000);
    });
    for (const kind of ["alert", "gate", "crossing"]) {
      source.addEventListener(kind, (ev) => {
        // A bad frame is logged and skipped: the next full read heals the view.
        try { onPushed(kind, JSON.parse(ev.data)); } catch (err) { console.error("console: pushed " + kind, err); }
      });
    }
  }

  refresh();
  setMode("polling");
  connect();
  // Clocks tick between updates.
  // Clocks tick between updates; only their text changes, so buttons and typed reasons stay put.
  window.setInterval(tickClocks, 1000);
  function tickClocks() {
    const elapsed = (Date.now() - model.receivedAt) / 1000;
    for (const gate of model.gates.values()) {
      const card = document.getElementById("gate-" + gate.id);
      if (!card) continue;
      const dd = card.querySelector("dd.time-in-state");
      if (dd && gate.time_in_state_s != null) dd.textContent = fmtDuration(gate.time_in_state_s + elapsed);
      const old = card.querySelector(".case-clock");
      const fresh = caseClock(gate);
      if (old && fresh) old.replaceWith(fresh);
    }
  }
})();
