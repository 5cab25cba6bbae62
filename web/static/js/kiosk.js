// The kiosk: every string's state, SOC and active alarms, redrawn from /live/kiosk (web/live/kiosk_model.py).
"use strict";

(function () {
  const grid = document.querySelector(".kiosk-grid");
  if (!grid) return;
  const status = document.querySelector(".live-status");
  const alarmCount = document.querySelector('[data-field="alarm-count"]');
  let lastHeard = Date.now();

  function marked(value, extra) {
    const span = document.createElement("span");
    span.textContent = value[0];
    if (extra) span.className = extra;
    if (value.length > 2 && value[2]) span.classList.add("value-" + value[2]);
    if (value.length > 3 && value[3]) span.title = value[3];
    return span;
  }

  function tile(s) {
    const article = document.createElement("article");
    article.className = "kiosk-string" + (s.alarm_count ? " has-alarms" : "");
    article.dataset.string = s.id;
    const h2 = document.createElement("h2");
    const small = document.createElement("small");
    h2.textContent = s.name + " ";
    small.textContent = s.ups;
    h2.appendChild(small);
    const soc = document.createElement("p");
    soc.className = "kiosk-soc";
    soc.appendChild(marked(s.soc));
    if (s.soc.length === 2) {
      const unit = document.createElement("span");
      unit.className = "unit";
      unit.textContent = " %";
      soc.appendChild(unit);
    }
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = " SOC";
    soc.appendChild(label);
    const state = document.createElement("p");
    state.className = "kiosk-state";
    state.appendChild(marked(s.state));
    const list = document.createElement("ul");
    list.className = "kiosk-alarm-list";
    for (const text of s.alarms.length ? s.alarms : ["No active alarm"]) {
      const li = document.createElement("li");
      li.textContent = text;
      if (!s.alarms.length) li.className = "none";
      list.appendChild(li);
    }
    article.append(h2, soc, state, list);
    return article;
  }

  function say(kind, text) {
    status.dataset.live = kind;
    status.textContent = text;
    document.body.classList.toggle("is-stale", kind !== "live");
  }

  const source = new EventSource(grid.dataset.stream);
  source.addEventListener("model", (event) => {
    const model = JSON.parse(event.data).model;
    lastHeard = Date.now();
    grid.replaceChildren(...model.strings.map(tile));
    alarmCount.textContent = `${model.alarm_count} active alarm${model.alarm_count === 1 ? "" : "s"}`;
    alarmCount.classList.toggle("alarm-active", model.alarm_count > 0);
    say("live", "Live");
  });
  source.addEventListener("heartbeat", () => { lastHeard = Date.now(); });
  source.onerror = () => say("reconnecting", "Reconnecting… values may be old");
  setInterval(() => {
    if (Date.now() - lastHeard > 25000) say("silent", "No update: values may be old");
  }, 5000);
})();
