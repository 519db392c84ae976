// CCTV operator's queue (SOP it-05). Alarms arrive on an EventSource as ingest commits them and
// are re-read now and then; every pending alarm sounds until acknowledged. Pictures are fetched
// once per alarm (each fetch is an audited view of biometric data). Text goes in with
// textContent only, never innerHTML; no inline script: the page runs under a strict CSP.
"use strict";
(function () {
  const root = document.getElementById("cctv");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const resyncMs = parseInt(root.dataset.resyncMs, 10) || 30000;
  const canDecide = root.dataset.canDecide === "yes";
  const strings = JSON.parse(document.getElementById("cctv-strings").textContent || "{}");
  const statusLine = document.getElementById("status");
  const linkMode = document.getElementById("link-mode");
  const pendingBox = document.getElementById("alarms");
  const decidedBox = document.getElementById("decided");
  const camerasBox = document.getElementById("cameras");

  function t(text) { return strings[text] || text; }
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function fmtTime(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; }
  function fmtDuration(s) {
    if (s == null || isNaN(s)) return "";
    s = Math.max(0, Math.floor(s));
    const m = Math.floor(s / 60), r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }

  const model = { alarms: new Map(), pictures: new Map(), cases: new Map(), cameras: [] };
  const shownAt = new Map();  // alarm id -> when it first reached the screen
  const signatures = new Map();

  // ---- sound: a Web Audio tone, repeated while any pending alarm is unacknowledged ----------
  const sound = {
    ctx: null, timer: null,
    muted: window.localStorage.getItem("autogate.cctv.muted") === "yes",
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
      for (const [offset, freq] of [[0, 988], [0.25, 784], [0.5, 988]]) {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.type = "sawtooth";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + offset);
        gain.gain.exponentialRampToValueAtTime(0.2, now + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.2);
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + offset);
        osc.stop(now + offset + 0.22);
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
      this.state.textContent = playing ? (suspended ? t("Click anywhere to allow the alarm sound") : t("Alarm sounding")) : "";
    },
  };
  sound.button.addEventListener("click", () => {
    sound.muted = !sound.muted;
    window.localStorage.setItem("autogate.cctv.muted", sound.muted ? "yes" : "no");
    sound.update(unacknowledged().length > 0);
  });
  document.addEventListener("click", () => { sound.ensureContext(); }, { capture: true });

  function unacknowledged() {
    return Array.from(model.alarms.values()).filter((a) => a.status === "pending" && !a.acknowledged_at);
  }

  // ---- requests ------------------------------------------------------------------------------
  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": " + response.status);
    return response.json();
  }
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      statusLine.textContent = t("Refused") + ": " + (data.message || data.reason || response.status);
      statusLine.classList.add("stale");
      return null;
    }
    statusLine.classList.remove("stale");
    return data;
  }

  async function loadPictures(alarm) {
    if (model.pictures.has(alarm.id)) return;
    model.pictures.set(alarm.id, null);  // one request per alarm, even while it is in flight
    try {
      model.pictures.set(alarm.id, await getJson(root.dataset.alarmUrl + alarm.id + "/pictures"));
    } catch (err) {
      model.pictures.delete(alarm.id);
      console.error("cctv: pictures", err);
      return;
    }
    signatures.delete(alarm.id);
    draw();
  }

  async function loadCase(caseId) {
    try {
      const view = await getJson(root.dataset.casesUrl + caseId);
      view.receivedAt = Date.now();
      model.cases.set(caseId, view);
      for (const a of model.alarms.values()) if (a.case_id === caseId) signatures.delete(a.id);
      draw();
    } catch (err) { console.error("cctv: case", err); }
  }

  // ---- drawing -----------------------------------------------------------------------------
  function picturesOf(alarm) {
    const box = el("div", null, "pictures");
    const pics = model.pictures.get(alarm.id);
    const figure = (src, caption, className) => {
      const fig = el("figure");
      if (src) {
        const img = el("img", null, className);
        img.src = src;
        img.alt = caption;
        fig.appendChild(img);
      } else {
        fig.appendChild(el("div", t("No picture (deleted after retention)"), "placeholder"));
      }
      fig.appendChild(el("figcaption", caption));
      return fig;
    };
    if (!pics) {
      if (alarm.pictures_deleted_at) box.appendChild(el("div", t("No picture (deleted after retention)"), "placeholder"));
      return box;
    }
    box.appendChild(figure(pics.faces[0] || null, t("Captured face"), "face probe"));
    const matched = pics.watchlist_faces.find((w) => w.matched) || pics.watchlist_faces[0];
    if (matched) box.appendChild(figure(matched.jpeg, t("Watchlist photo"), "face watchlist"));
    else box.appendChild(el("div", t("No watchlist photo kept"), "placeholder"));
    for (const extra of pics.faces.slice(1)) box.appendChild(figure(extra, t("Captured face"), "face probe"));
    if (pics.snapshot) box.appendChild(figure(pics.snapshot, t("Scene"), "scene"));
    if (pics.track.length) {
      const fig = el("figure");
      const strip = el("div", null, "track");
      for (const frame of pics.track) {
        const img = el("img");
        img.src = frame.jpeg;
        img.alt = t("frame") + " " + frame.frame;
        img.title = t("frame") + " " + frame.frame;
        strip.appendChild(img);
      }
      fig.appendChild(strip);
      fig.appendChild(el("figcaption", t("Track") + " (" + pics.track.length + ")"));
      box.appendChild(fig);
    }
    return box;
  }

  function entryOf(alarm) {
    const e = alarm.entry;
    const dl = el("dl", null, "entry");
    const row = (label, value) => { if (value) { dl.appendChild(el("dt", label)); dl.appendChild(el("dd", value)); } };
    row(t("Entry"), e.entry_id);
    row(t("Documents"), (e.document_numbers || []).join(", "));
    row(t("Born"), e.birth_date);
    row(t("Nationality"), e.nationality);
    row(t("Agency"), e.agency);
    row(t("Reason"), e.reason);
    const others = (alarm.candidates || []).filter((c) => c.entry_id !== e.entry_id && c.score >= alarm.threshold);
    if (others.length) row(t("Candidates"), others.map((c) => c.entry_id + " " + c.score.toFixed(3)).join(", "));
    return dl;
  }

  function caseClock(alarm) {
    if (!alarm.case_id) return null;
    const view = model.cases.get(alarm.case_id);
    const box = el("div", null, "case-clock");
    box.dataset.caseId = alarm.case_id;
    const link = el("a", t("it-05 case") + " " + alarm.case_id);
    link.href = root.dataset.casePage + alarm.case_id;
    box.appendChild(link);
    if (!view) return box;
    const clock = view.clock || {};
    if (view.status !== "open") {
      box.appendChild(el("span", " · " + (view.outcome || view.status)));
      box.dataset.status = view.status;
      return box;
    }
    const elapsed = (clock.elapsed_s || 0) + (Date.now() - view.receivedAt) / 1000;
    box.dataset.status = "open";
    box.dataset.step = clock.step || "";
    const text = el("span", " · " + t("Step") + " " + (clock.step || "") + " · " + t("Time in step") + " ", "");
    const time = el("strong", fmtDuration(elapsed), "elapsed");
    time.dataset.elapsedS = String(Math.floor(elapsed));
    box.appendChild(text);
    box.appendChild(time);
    if (clock.standard_s) box.appendChild(el("span", " " + t("of") + " " + fmtDuration(clock.standard_s)));
    if (clock.standard_s && elapsed > clock.standard_s) box.classList.add("overdue");
    return box;
  }

  function actionsOf(alarm) {
    const box = el("div", null, "actions");
    if (!canDecide || alarm.status !== "pending") return box;
    if (!alarm.acknowledged_at) {
      const ack = el("button", t("Acknowledge"), "ack");
      ack.type = "button";
      ack.addEventListener("click", async () => {
        const view = await post(root.dataset.alarmUrl + alarm.id + "/ack", {});
        if (view) upsert(view);
      });
      box.appendChild(ack);
    }
    const note = el("input");
    note.type = "text"; note.name = "note"; note.maxLength = 500; note.placeholder = t("Note");
    const gates = el("input"); gates.type = "checkbox"; gates.name = "flag_gates";
    const gatesLabel = el("label"); gatesLabel.appendChild(gates); gatesLabel.appendChild(document.createTextNode(" " + t("Flag to every gate")));
    const console_ = el("input"); console_.type = "checkbox"; console_.name = "flag_console"; console_.checked = true;
    const consoleLabel = el("label"); consoleLabel.appendChild(console_); consoleLabel.appendChild(document.createTextNode(" " + t("Alert the supervisors' console")));
    const confirm = el("button", t("Confirm"), "confirm");
    confirm.type = "button";
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      const view = await post(root.dataset.alarmUrl + alarm.id + "/confirm",
        { note: note.value, flag_gates: gates.checked, flag_console: console_.checked });
      confirm.disabled = false;
      if (view) { upsert(view); loadCase(view.case_id); }
    });
    const reason = el("input");
    reason.type = "text"; reason.name = "reason"; reason.maxLength = 500; reason.placeholder = t("Reason");
    const dismiss = el("button", t("Dismiss: not this person"), "dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", async () => {
      if (reason.value.trim().length < 3) { reason.classList.add("invalid"); reason.focus(); return; }
      const view = await post(root.dataset.alarmUrl + alarm.id + "/dismiss", { reason: reason.value.trim() });
      if (view) upsert(view);
    });
    for (const node of [note, gatesLabel, consoleLabel, confirm, reason, dismiss]) box.appendChild(node);
    return box;
  }

  function card(alarm) {
    const box = el("article", null, "alarm");
    box.id = "alarm-" + alarm.id;
    box.dataset.alarmId = alarm.id;
    box.dataset.status = alarm.status;
    box.dataset.acknowledged = alarm.acknowledged_at ? "yes" : "no";
    if (!shownAt.has(alarm.id)) shownAt.set(alarm.id, Date.now());
    box.dataset.shownAt = String(shownAt.get(alarm.id));
    const head = el("header");
    const e = alarm.entry;
    head.appendChild(el("span", [e.given_names, e.surname].filter(Boolean).join(" ") || e.entry_id, "who"));
    head.appendChild(el("span", e.list, "list"));
    const score = el("span", null, "score");
    score.appendChild(document.createTextNode(t("Score") + " " + alarm.score.toFixed(3) + " / " + t("threshold") + " " + alarm.threshold.toFixed(3) + " "));
    const meter = el("meter");
    meter.min = 0; meter.max = 1; meter.value = Math.max(0, alarm.score); meter.low = alarm.threshold; meter.optimum = 0;
    score.appendChild(meter);
    head.appendChild(score);
    head.appendChild(el("span", t("Camera") + " " + (alarm.camera_name || alarm.camera_id) + (alarm.camera_location ? " (" + alarm.camera_location + ")" : "")));
    head.appendChild(el("span", t("Seen") + " " + fmtTime(alarm.seen_at)));
    box.appendChild(head);
    box.appendChild(picturesOf(alarm));
    box.appendChild(entryOf(alarm));
    if (alarm.status === "confirmed") box.appendChild(el("p", t("Confirmed by") + " " + alarm.decided_by + (alarm.decision_note ? ": " + alarm.decision_note : "")));
    if (alarm.status === "dismissed") box.appendChild(el("p", t("Dismissed by") + " " + alarm.decided_by + ": " + alarm.decision_note));
    const clock = caseClock(alarm);
    if (clock) box.appendChild(clock);
    box.appendChild(actionsOf(alarm));
    return box;
  }

  function draw() {
    const all = Array.from(model.alarms.values()).sort((a, b) => b.id - a.id);
    const pending = all.filter((a) => a.status === "pending");
    const decided = all.filter((a) => a.status !== "pending").slice(0, 20);
    place(pendingBox, pending);
    place(decidedBox, decided);
    if (!pending.length && !pendingBox.querySelector(".empty")) pendingBox.appendChild(el("p", t("No alarm waiting."), "empty"));
    if (pending.length) { const empty = pendingBox.querySelector(".empty"); if (empty) empty.remove(); }
    sound.update(unacknowledged().length > 0);
    for (const a of pending.concat(decided)) if ((a.pictures.face || a.pictures.snapshot) && !model.pictures.has(a.id)) loadPictures(a);
  }

  function place(container, alarms) {
    const wanted = new Set(alarms.map((a) => "alarm-" + a.id));
    for (const child of Array.from(container.querySelectorAll("article.alarm"))) if (!wanted.has(child.id)) child.remove();
    let previous = null;
    for (const alarm of alarms) {
      // Rebuilt only when the alarm changed, so typed notes and focused buttons stay put.
      const signature = JSON.stringify([alarm, model.pictures.has(alarm.id) && !!model.pictures.get(alarm.id)]);
      let node = document.getElementById("alarm-" + alarm.id);
      if (!node || signatures.get(alarm.id) !== signature || node.parentNode !== container) {
        const fresh = card(alarm);
        if (node) node.replaceWith(fresh); else container.insertBefore(fresh, previous ? previous.nextSibling : container.firstChild);
        node = fresh;
        signatures.set(alarm.id, signature);
      }
      if (previous ? previous.nextSibling !== node : container.firstChild !== node) {
        container.insertBefore(node, previous ? previous.nextSibling : container.firstChild);
      }
      previous = node;
    }
  }

  function drawCameras() {
    clear(camerasBox);
    for (const c of model.cameras) {
      const li = el("li");
      li.dataset.cameraId = c.id;
      li.dataset.online = c.online ? "yes" : "no";
      li.appendChild(el("strong", c.name || c.id));
      li.appendChild(document.createTextNode(" " + (c.location || "") + " "));
      li.appendChild(el("span", c.online ? "online" : "offline", c.online ? "online" : "offline"));
      camerasBox.appendChild(li);
    }
  }

  function upsert(alarm) {
    model.alarms.set(alarm.id, alarm);
    draw();
  }

  async function refresh() {
    try {
      const data = await getJson(root.dataset.alarmsUrl + "?status=all&limit=60");
      for (const a of data.alarms) model.alarms.set(a.id, a);
      model.cameras = data.cameras;
      drawCameras();
      draw();
      for (const a of data.alarms) if (a.case_id && !model.cases.has(a.case_id)) loadCase(a.case_id);
      statusLine.textContent = new Date().toLocaleTimeString();
      statusLine.classList.remove("stale");
    } catch (err) {
      console.error("cctv: refresh", err);
      statusLine.classList.add("stale");
    }
  }

  function setMode(mode) {
    linkMode.dataset.mode = mode;
    linkMode.textContent = mode === "live" ? t("Live") : t("Reconnecting…");
  }

  function connect() {
    if (!window.EventSource) { setMode("polling"); window.setInterval(refresh, 2000); return; }
    const source = new EventSource(root.dataset.streamUrl);
    source.addEventListener("open", () => { setMode("live"); refresh(); });
    source.addEventListener("error", () => { setMode("polling"); });
    source.addEventListener("alarm", (ev) => {
      try { upsert(JSON.parse(ev.data)); } catch (err) { console.error("cctv: pushed alarm", err); }
    });
  }

  refresh();
  connect();
  window.setInterval(refresh, resyncMs);
  // Case clocks tick every second; case views are re-read now and then (steps move on).
  window.setInterval(() => {
    for (const a of model.alarms.values()) {
      if (!a.case_id) continue;
      const node = document.querySelector('#alarm-' + a.id + ' .case-clock');
      const fresh = caseClock(a);
      if (node && fresh) node.replaceWith(fresh);
    }
  }, 1000);
  window.setInterval(() => { for (const id of model.cases.keys()) loadCase(id); }, 15000);
})();
