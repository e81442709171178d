// wp-dind dashboard: swaps the sections the server sends over Server-Sent Events, runs the
// actions (POST with the page's CSRF token), shows secrets on request and follows logs.
"use strict";
(() => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (sel, root = document) => root.querySelector(sel);
  const pending = new Set(); // "instance/action" in flight: kept disabled across swaps
  const live = $("#live");

  // --- live sections -------------------------------------------------------------------
  function connect() {
    const es = new EventSource("/events");
    es.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    es.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
    es.addEventListener("sections", (ev) => {
      const sections = JSON.parse(ev.data);
      for (const [id, html] of Object.entries(sections)) {
        const el = document.getElementById(id);
        if (el) el.outerHTML = html;
      }
      markPending();
      tickUptimes();
      live.textContent = "live · " + new Date().toLocaleTimeString();
    });
  }

  function markPending() {
    for (const key of pending) {
      const [name, action] = key.split("/");
      const b = document.querySelector(`tr[data-instance="${CSS.escape(name)}"] [data-action="${action}"]`);
      if (b) { b.disabled = true; b.classList.add("busy"); }
    }
  }

  // --- uptimes, counted here so that the sections change only when something happens ---
  function since(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return `${d}d ${h}h`;
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${s}s`;
    return `${s}s`;
  }
  function tickUptimes() {
    const now = Date.now();
    for (const t of document.querySelectorAll("time.since")) {
      t.textContent = since(now - Date.parse(t.getAttribute("datetime")));
    }
  }

  // --- actions ---------------------------------------------------------------------------
  function toast(text, bad) {
    const t = $("#toast");
    t.textContent = text;
    t.className = "toast show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = "toast"; }, bad ? 10000 : 5000);
  }

  async function post(name, action, params) {
    const r = await fetch(`/api/instances/${encodeURIComponent(name)}/${action}`, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params || {}),
    });
    const body = await r.json().catch(() => ({ error: r.statusText }));
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  async function act(button) {
    const row = button.closest("tr[data-instance]");
    const name = row.dataset.instance, action = button.dataset.action;
    const key = name + "/" + action;
    if (pending.has(key)) return;
    if (action === "restart" && !confirm(`Restart the containers of ${name}?`)) return;
    pending.add(key);
    markPending();
    try {
      const res = await post(name, action, action === "xdebug" ? { on: button.dataset.on } : null);
      if (res.secrets) showSecrets(name, res.secrets); // the panel is the answer
      else toast(res.message);
    } catch (e) {
      toast(`${name}: ${action} failed: ${e.message}`, true);
    } finally {
      pending.delete(key);
      const b = document.querySelector(`tr[data-instance="${CSS.escape(name)}"] [data-action="${action}"]`);
      if (b) { b.disabled = false; b.classList.remove("busy"); }
    }
  }

  // --- the panel: secrets or logs ---------------------------------------------------------
  let follower = null;
  function openPanel(title) {
    if (follower) { follower.close(); follower = null; }
    $("#panel-title").textContent = title;
    const body = $("#panel-body");
    body.replaceChildren();
    $("#panel").hidden = false;
    return body;
  }
  function closePanel() {
    if (follower) { follower.close(); follower = null; }
    $("#panel-body").replaceChildren();
    $("#panel").hidden = true;
  }

  function showSecrets(name, s) {
    const dl = document.createElement("dl");
    dl.className = "secrets";
    for (const [k, v] of [["admin user", s.admin_user], ["admin password", s.admin_password],
      ["database", s.db_name], ["database user", s.db_user], ["database password", s.db_password],
      ["database root password", s.db_root_password]]) {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      dl.append(dt, dd);
    }
    openPanel(`${name}: credentials`).append(dl);
  }

  function followLogs(b) {
    const q = b.dataset.logs === "service"
      ? new URLSearchParams({ service: b.dataset.name })
      : new URLSearchParams({ instance: b.dataset.instance, role: b.dataset.role });
    const pre = document.createElement("pre");
    pre.className = "logs";
    const waiting = document.createElement("p");
    waiting.className = "waiting";
    waiting.textContent = "following: no line yet…";
    openPanel(`logs: ${b.dataset.name}`).append(waiting, pre);
    follower = new EventSource("/logs?" + q);
    const es = follower;
    es.addEventListener("line", (ev) => {
      waiting.remove();
      const l = JSON.parse(ev.data);
      const line = document.createElement("span");
      line.className = l.stream === "stderr" ? "stderr" : "";
      line.textContent = l.text + "\n";
      pre.append(line);
      while (pre.childNodes.length > 1000) pre.firstChild.remove();
      pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener("failed", (ev) => toast(JSON.parse(ev.data), true));
    es.addEventListener("end", () => { es.close(); waiting.textContent = "the stream ended"; });
  }

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.dataset.action) act(b);
    else if (b.dataset.logs) followLogs(b);
    else if (b.hasAttribute("data-close")) closePanel();
  });

  tickUptimes();
  setInterval(tickUptimes, 1000);
  connect();
})();
