/* The live page: renders the snapshots /api/live pushes, and the numbers of /api/stats.
   Everything is built with textContent (no markup from data) except the charts, which
   the server renders as SVG from numbers only. */
"use strict";
(function () {
  const texts = window.HOTLINE_TEXT;
  const params = new URLSearchParams(location.search);
  const wanted = [params.get("lang"), ...(navigator.languages || [navigator.language])]
    .filter(Boolean).map((l) => l.slice(0, 2).toLowerCase());
  const lang = wanted.find((l) => texts[l]) || document.documentElement.lang || "en";
  document.documentElement.lang = lang;
  const words = texts[lang] || texts.en;
  const t = (key, vars) => {
    let text = words[key] ?? texts.en[key] ?? key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
    return text;
  };
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });

  let offset = 0; // server clock minus this browser's clock, in seconds
  let last = null;
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  };
  const now = () => Date.now() / 1000 + offset;
  const secs = (since) => Math.max(0, Math.floor(now() - since));
  const agentName = (a) => a.label ? `${a.label} (${a.number})` : a.number;

  function stepText(call) {
    // ringing and confirming map the agent's number to {number, label, since}
    const confirming = Object.values(call.confirming);
    const ringing = Object.values(call.ringing);
    if (call.connected) return t("connected_for", { agent: agentName(call.connected), n: secs(call.connected.since) });
    if (confirming.length) return confirming.map((a) => t("confirming_agent", { agent: agentName(a) })).join(", ");
    if (ringing.length) return ringing.map((a) => t("ringing_for", { agent: agentName(a), n: secs(a.since) })).join(", ");
    return t("step." + call.step);
  }
  function waited(call) {
    return call.connected ? Math.max(0, Math.floor(call.connected.since - call.arrived)) : secs(call.arrived);
  }

  function renderStatus(status) {
    const box = document.getElementById("status");
    const lic = status.license;
    const license = lic ? `${lic.kind}, ${lic.expires ? t("expires") + " " + lic.expires : t("no_expiry")}` : t("license_none");
    const ami = status.ami === null ? t("ami_off") : status.ami ? t("ami_up") : t("ami_down");
    box.replaceChildren(
      el("span", { class: "chip" }, `${t("version")} ${status.version}`),
      el("span", { class: "chip", "data-testid": "license" }, `${t("license")}: ${license}`),
      el("span", { class: "chip", "data-testid": "ami", "data-state": status.ami === false ? "bad" : "ok" }, `${t("ami")}: ${ami}`),
    );
    if (status.all_runtimes === false) box.append(el("span", { class: "chip", "data-state": "bad" }, t("partial")));
  }

  function renderHotlines(hotlines) {
    const box = document.getElementById("hotlines");
    box.replaceChildren(...hotlines.map((h) => {
      const schedule = h.schedule;
      const badge = schedule
        ? el("span", { class: "chip", "data-state": schedule.open ? "ok" : "bad", title: schedule.rule, "data-testid": "schedule" },
            schedule.open ? t("open") : t("closed"))
        : "";
      const rows = h.calls.map((c) => el("tr", { "data-call": c.call_id, "data-step": c.connected ? "connected" : c.step },
        el("td", { class: "num", "data-since": c.arrived }, t("seconds", { n: waited(c) })),
        el("td", { class: "step" }, stepText(c))));
      const table = h.calls.length
        ? el("div", { class: "scroll" }, el("table", {},
            el("thead", {}, el("tr", {}, el("th", {}, t("waiting")), el("th", {}, t("step")))),
            el("tbody", {}, ...rows)))
        : el("p", { class: "muted" }, t("no_calls"));
      return el("section", { class: "card", "data-hotline": h.name },
        el("h2", {}, h.name, " ", badge, " ", el("span", { class: "count" }, String(h.calls.length))), table);
    }));
  }

  function renderAgents(agents) {
    const body = document.querySelector("#agents tbody");
    body.replaceChildren(...agents.map((a) => el("tr", { "data-agent": a.number, "data-state": a.state },
      el("td", {}, agentName(a)),
      el("td", {}, a.hotlines.join(", ")),
      el("td", {}, el("span", { class: "state", "data-state": a.state }, t("state." + a.state))))));
  }

  function render() {
    if (!last) return;
    renderStatus(last.status);
    renderHotlines(last.hotlines);
    renderAgents(last.agents);
  }

  const connection = document.getElementById("connection");
  function setConnection(state) {
    connection.dataset.state = state;
    connection.textContent = t(state);
  }
  let source = null;
  function connect() {
    source = new EventSource("/api/live");
    source.onopen = () => setConnection("live");
    source.onmessage = (message) => {
      last = JSON.parse(message.data);
      offset = last.now - Date.now() / 1000;
      setConnection("live");
      render();
    };
    source.onerror = () => {
      setConnection("reconnecting");
      if (source.readyState === EventSource.CLOSED) { // the browser gave up: try again ourselves
        source.close();
        setTimeout(connect, 2000);
      }
    };
  }
  connect();
  setInterval(render, 1000); // the seconds count on between pushes

  // -- Today / last 7 days ------------------------------------------------------------
  let period = "today";
  const pct = (rate) => rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)} %`;
  const sec = (value) => value === null || value === undefined ? "–" : `${Math.round(value)} s`;
  const svg = (markup) => {
    const box = el("div", { class: "chart" });
    box.innerHTML = markup; // server-rendered from numbers only (hotline/web/charts.py)
    return box;
  };

  function renderStats(stats) {
    const body = document.getElementById("stats-body");
    if (!stats.journal) { body.replaceChildren(el("p", { class: "muted" }, t("journal_off"))); return; }
    if (stats.unavailable) { body.replaceChildren(el("p", { class: "muted" }, t("journal_unavailable"))); return; }
    const parts = stats.hotlines.map((h) => {
      const f = h.figures;
      const tile = (key, value, testid) => el("div", { class: "tile", "data-testid": testid }, el("b", {}, value), el("span", {}, t(key)));
      return el("section", { class: "hotline-stats", "data-hotline": h.hotline },
        el("h3", {}, h.hotline),
        el("div", { class: "tiles" },
          tile("calls", String(f.calls), "calls"),
          tile("answered_rate", pct(f.answered_rate), "answered-rate"),
          tile("abandoned", String(f.abandoned), "abandoned"),
          tile("nobody_available", String(f.nobody_available), "nobody-available"),
          tile("wait_p50", sec(f.wait_p50), "wait-p50"),
          tile("wait_p90", sec(f.wait_p90), "wait-p90")),
        el("div", { class: "charts" },
          el("figure", { "data-testid": "wait-chart" }, el("figcaption", {}, t("wait_chart")), svg(h.charts.wait)),
          el("figure", { "data-testid": "hour-chart" }, el("figcaption", {}, t("hour_chart")), svg(h.charts.hours))));
    });
    const columns = ["offered", "accepted", "declined", "not_confirmed", "no_answer", "busy_skipped", "caller_gone"];
    const agents = stats.agents.length
      ? el("div", { class: "scroll" }, el("table", { "data-testid": "agent-stats" },
          el("thead", {}, el("tr", {}, el("th", {}, t("agent")), el("th", {}, t("hotlines")),
            ...columns.map((c) => el("th", { class: "num" }, t(c))), el("th", { class: "num" }, t("acceptance_rate")))),
          el("tbody", {}, ...stats.agents.map((a) => el("tr", { "data-agent": a.agent },
            el("td", {}, a.label ? `${a.label} (${a.agent})` : a.agent), el("td", {}, a.hotline),
            ...columns.map((c) => el("td", { class: "num" }, String(a[c]))),
            el("td", { class: "num" }, pct(a.acceptance_rate)))))))
      : el("p", { class: "muted" }, t("no_agents"));
    body.replaceChildren(...parts, agents);
  }

  async function loadStats() {
    try {
      const response = await fetch(`/api/stats?period=${period}`, { cache: "no-store" });
      if (response.ok) renderStats(await response.json());
    } catch (error) { /* the runtime restarts: the next round tries again */ }
  }
  document.querySelectorAll("[data-period]").forEach((button) => {
    button.addEventListener("click", () => {
      period = button.dataset.period;
      document.querySelectorAll("[data-period]").forEach((b) => b.setAttribute("aria-selected", String(b === button)));
      loadStats();
    });
  });
  loadStats();
  setInterval(loadStats, 60000);
})();
