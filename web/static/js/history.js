// The History tab: one quantity of the level's series over a range, as min/avg/max envelopes.
// Every range costs the same: the server sends at most `points` buckets per series.
"use strict";

(function () {
  const root = document.getElementById("history");
  if (!root) return;
  const config = JSON.parse(root.dataset.config);
  const zone = config.zone;
  // Where the numbers come from: a gateway's own API, or an aggregator's for one of its gateways.
  const seriesUrl = config.series_url || "/api/v1/series";
  const csvUrl = config.csv_url || "/api/v1/series.csv";
  const quantitySelect = document.getElementById("history-quantity");
  const rangeButtons = [...root.querySelectorAll("button[data-range]")];
  const custom = document.getElementById("history-custom");
  const cellBox = document.getElementById("history-cells");
  const status = document.getElementById("history-status");
  const zoomOut = document.getElementById("history-zoom-out");
  const download = document.getElementById("history-download");
  const area = document.getElementById("history-plot");

  let range = null; // {from, to} in UNIX seconds: what is drawn
  const zooms = []; // the ranges zoomed in from, innermost last
  let drawn = null;
  let generation = 0; // a newer request makes the answer of an older one moot

  function chosenQuantity() {
    const [level, name] = quantitySelect.value.split(":");
    return config.quantities.find((q) => q.level === level && q.name === name);
  }

  // [{id, label}] of what is plotted: the level's UPSes or strings, or the chosen cells.
  function chosenSeries(quantity) {
    if (quantity.level !== "cell") return config.series[quantity.level];
    const string = config.series.string[0].id;
    return [...cellBox.querySelectorAll("input:checked")].map((box) => ({
      id: `${string}/${box.value}`,
      label: `Cell ${box.value}`,
    }));
  }

  function points() {
    return Math.max(100, Math.min(1000, Math.round(area.clientWidth || 800)));
  }

  function query(quantity, ids) {
    const q = new URLSearchParams({
      level: quantity.level, quantity: quantity.name, from: btms.plots.iso(range.from),
      to: btms.plots.iso(range.to), points: String(points()),
    });
    ids.forEach((id) => q.append("id", id));
    return q;
  }

  async function load() {
    const mine = ++generation;
    const quantity = chosenQuantity();
    if (cellBox) cellBox.hidden = quantity.level !== "cell";
    const series = chosenSeries(quantity);
    zoomOut.disabled = zooms.length === 0;
    custom.elements.from.value = btms.plots.wallText(range.from, zone);
    custom.elements.to.value = btms.plots.wallText(range.to, zone);
    if (series.length === 0) {
      status.textContent = "Choose at least one cell.";
      return;
    }
    root.dataset.state = "loading";
    status.textContent = "Loading…";
    const started = performance.now();
    try {
      const answers = [];
      for (const s of series) {
        const q = query(quantity, [s.id]);
        answers.push(await btms.plots.getJson(`${seriesUrl}?${q}`));
        if (mine !== generation) return;
      }
      const columns = btms.plots.envelopeColumns(answers.map((a) => a.points));
      if (drawn) drawn.destroy();
      drawn = btms.plots.draw(area, {
        names: series.map((s) => s.label), quantity, zone, columns, range,
        onZoom: (from, to) => {
          zooms.push(range);
          show({ from, to });
        },
      });
      const buckets = answers.reduce((n, a) => n + a.points.length, 0);
      const ms = Math.round(performance.now() - started);
      download.href = `${csvUrl}?${query(quantity, series.map((s) => s.id))}`;
      root.dataset.state = "drawn";
      root.dataset.buckets = String(buckets);
      root.dataset.series = String(series.length);
      status.textContent = buckets
        ? `${btms.plots.localText(range.from, zone)} to ${btms.plots.localText(range.to, zone)}: ` +
          `${buckets} intervals in ${ms} ms`
        : "No data stored in this range.";
    } catch (error) {
      if (mine !== generation) return;
      root.dataset.state = "error";
      status.textContent = `Could not load the history: ${error.message}`;
    }
  }

  function show(next) {
    range = next;
    load();
  }

  function pressRange(button) {
    rangeButtons.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  }

  rangeButtons.forEach((button) =>
    button.addEventListener("click", () => {
      pressRange(button);
      zooms.length = 0;
      const to = Date.now() / 1000;
      show({ from: to - Number(button.dataset.range), to });
    })
  );

  custom.addEventListener("submit", (event) => {
    event.preventDefault();
    const from = btms.plots.wallToUnix(custom.elements.from.value, zone);
    const to = btms.plots.wallToUnix(custom.elements.to.value, zone);
    if (!(from < to)) {
      status.textContent = "The range's start must be before its end.";
      return;
    }
    pressRange(null);
    zooms.length = 0;
    show({ from, to });
  });

  zoomOut.addEventListener("click", () => {
    if (zooms.length) show(zooms.pop());
  });

  quantitySelect.addEventListener("change", load);
  if (cellBox) cellBox.addEventListener("change", load);

  rangeButtons[1].click(); // one day, until the person chooses
})();
