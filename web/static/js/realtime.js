// The Real-time tab: the level's table (sortable, "show N entries"), a bar graph of one parameter
// across the children with its alarm limits, both downloadable as CSV, kept live by the level's
// event stream (or, where the page names a data-poll URL instead, by fetching the model every
// POLL_MS: the aggregator's pages). Everything is drawn from the model the server sends (web/live/tables.py): a shown
// value is [text, number] or [text, number|null, mark, reason]; a marked value keeps its mark.
"use strict";

(function () {
  const root = document.querySelector(".realtime");
  if (!root) return;
  const initial = JSON.parse(document.getElementById("realtime-model").textContent);
  const state = { model: initial.model, version: initial.version, sort: 0, descending: false, page: 0, size: 25, plot: null };
  const $ = (selector) => root.querySelector(selector);
  const sizeSelect = $('select[name="page-size"]');
  const paramSelect = $('select[name="parameter"]');
  state.size = Number(sizeSelect.value);
  const STALE_AFTER_MS = 25000; // two heartbeats missed: the stream is dead, whatever it last said
  const POLL_MS = 5000;

  // -- drawing values -------------------------------------------------------------------------

  function header(col) {
    return col.unit ? `${col.label} (${col.unit})` : col.label;
  }

  function fillCell(td, value, col) {
    td.textContent = value[0];
    td.className = col && col.numeric ? "num" : "text";
    if (value.length > 2 && value[2]) td.classList.add("value-" + value[2]);
    if (value.length > 3 && value[3]) td.title = value[3];
    else td.removeAttribute("title");
  }

  function drawRows(tbody, columns, rows) {
    const fresh = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement("tr");
      tr.dataset.key = row.key;
      row.cells.forEach((value, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) {
          cell.scope = "row";
          cell.className = "text";
          if (row.href) {
            const a = document.createElement("a");
            a.href = row.href;
            a.textContent = value[0];
            cell.appendChild(a);
          } else cell.textContent = value[0];
        } else fillCell(cell, value, columns[i]);
        tr.appendChild(cell);
      });
      fresh.appendChild(tr);
    }
    tbody.replaceChildren(fresh);
  }

  // -- the children's table: sort and pages ---------------------------------------------------

  function sortedRows() {
    const rows = state.model.table.rows.map((row, at) => ({ row, at }));
    const col = state.model.table.columns[state.sort];
    const i = state.sort;
    const sign = state.descending ? -1 : 1;
    rows.sort((a, b) => {
      let order;
      if (i === 0) order = a.at - b.at;
      else if (col.numeric) {
        const x = a.row.cells[i][1], y = b.row.cells[i][1];
        if (x === null || y === null) return x === y ? a.at - b.at : x === null ? 1 : -1; // no value: last
        order = x - y;
      } else order = String(a.row.cells[i][0]).localeCompare(String(b.row.cells[i][0]), undefined, { numeric: true });
      return sign * order || a.at - b.at;
    });
    return rows.map((r) => r.row);
  }

  function drawTable() {
    const table = state.model.table;
    const rows = sortedRows();
    const size = state.size || rows.length || 1;
    const pages = Math.max(1, Math.ceil(rows.length / size));
    state.page = Math.min(state.page, pages - 1);
    const first = state.page * size;
    const shown = rows.slice(first, first + size);
    drawRows($('table[data-table="children"] tbody'), table.columns, shown);
    root.querySelectorAll('table[data-table="children"] th[aria-sort]').forEach((th, i) => {
      th.setAttribute("aria-sort", i === state.sort ? (state.descending ? "descending" : "ascending") : "none");
    });
    $('[data-field="showing"]').textContent = rows.length
      ? `Showing ${first + 1} to ${first + shown.length} of ${rows.length} entries`
      : "No entries";
    $('[data-page="previous"]').disabled = state.page === 0;
    $('[data-page="next"]').disabled = state.page >= pages - 1;
  }

  function drawSummary() {
    const summary = state.model.summary;
    drawRows($('table[data-table="summary"] tbody'), summary.columns, summary.rows);
  }

  // -- the bar graph ----------------------------------------------------------------------------

  function chosenColumn() {
    const columns = state.model.table.columns;
    const at = columns.findIndex((c) => c.key === paramSelect.value);
    return { col: columns[at], at };
  }

  function plotData() {
    const { col, at } = chosenColumn();
    const rows = state.model.table.rows;
    const xs = rows.map((_, i) => i + 1);
    const ys = rows.map((row) => row.cells[at][1]);
    const lines = (col.limits || []).map((limit) => rows.map(() => limit.value));
    return { col, at, rows, data: [xs, ys, ...lines] };
  }

  function plotNote(col, at, rows) {
    const missing = rows.filter((row) => row.cells[at][1] === null);
    const note = $('[data-field="plot-note"]');
    note.className = "plot-note" + (missing.length ? " value-stale" : "");
    note.textContent = missing.length
      ? `No bar (no good value): ${missing.slice(0, 12).map((r) => `${r.cells[0][0]} ${r.cells[at][0]}`).join(", ")}` +
        (missing.length > 12 ? ` and ${missing.length - 12} more` : "")
      : (col.limits || []).length ? "Dashed lines: the alarm limits." : "";
  }

  function plotWidth() {
    return Math.max(280, $("#bar-plot").clientWidth || 400);
  }

  function makePlot() {
    if (typeof uPlot === "undefined" || !paramSelect || !paramSelect.value) return; // nothing to plot
    const { col, at, rows, data } = plotData();
    if (state.plot) state.plot.destroy();
    const names = rows.map((row) => row.cells[0][0]);
    const limitColors = ["#c62828", "#b26a00", "#6a1b9a"];
    const series = [
      {},
      { label: header(col), fill: "#0b5fa5aa", stroke: "#0b5fa5", width: 1,
        paths: uPlot.paths.bars({ size: [0.7, 48] }), points: { show: false } },
      ...(col.limits || []).map((limit, i) => ({
        label: `${limit.label} ${limit.value} ${col.unit}`, stroke: limitColors[i % 3], width: 2, dash: [8, 5],
        points: { show: false },
      })),
    ];
    state.plot = new uPlot(
      {
        width: plotWidth(),
        height: 320,
        scales: {
          x: { time: false, range: () => [0.4, names.length + 0.6] },
          // A bar starts at zero: a bar graph from any other baseline makes 10 mV look like 10 V.
          y: { range: (u, lo, hi) => {
            const limits = (col.limits || []).map((l) => l.value);
            const low = Math.min(0, lo, ...limits), high = Math.max(0, hi, ...limits);
            return [low < 0 ? low * 1.08 : 0, high > 0 ? high * 1.08 : 1];
          } },
        },
        axes: [
          {
            // every child a split, a label only where it fits (about 56 px each)
            splits: () => names.map((_, i) => i + 1),
            values: (u, splits) => {
              const step = Math.max(1, Math.ceil(names.length / Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / 56))));
              return splits.map((v) => ((v - 1) % step === 0 ? names[v - 1] : ""));
            },
            grid: { show: false },
            font: "12px sans-serif",
          },
          { label: header(col), font: "12px sans-serif", labelFont: "12px sans-serif", size: 70 },
        ],
        legend: { live: false },
        cursor: { show: true, points: { show: false } },
        series,
      },
      data,
      $("#bar-plot"),
    );
    plotNote(col, at, rows);
  }

  function updatePlot() {
    if (!state.plot) return makePlot();
    const { col, at, rows, data } = plotData();
    if (data.length !== state.plot.series.length || data[0].length !== state.plot.data[0].length) return makePlot();
    state.plot.setData(data);
    plotNote(col, at, rows);
  }

  // -- CSV: exactly what is shown (RFC 4180, UTF-8; text never read as a formula) ---------------

  const FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]; // the rule of storage/csv_text.py

  function field(value, isNumber) {
    let text = String(value);
    if (!isNumber && FORMULA_STARTS.some((s) => text.startsWith(s))) text = "'" + text;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function csvHeader(col) {
    return col.unit_ascii || col.unit ? `${col.label} (${col.unit_ascii || col.unit})` : col.label;
  }

  function download(name, lines) {
    const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  function stamp() {
    return (state.model.time || "no-scan").replace(/[^0-9]/g, "").slice(0, 14);
  }

  function downloadSummary() {
    const summary = state.model.summary;
    const lines = [summary.columns.map((c) => field(csvHeader(c), false)).join(",")];
    for (const row of summary.rows) {
      lines.push(row.cells.map((v, i) => field(v[0], summary.columns[i].numeric && v[1] !== null)).join(","));
    }
    download(`${root.dataset.name}-summary-${stamp()}.csv`, lines);
  }

  function downloadTable() {
    const table = state.model.table;
    const lines = [table.columns.map((c) => field(csvHeader(c), false)).join(",")];
    for (const row of sortedRows()) {
      lines.push(row.cells.map((v, i) => field(v[0], table.columns[i].numeric && v[1] !== null)).join(","));
    }
    download(`${root.dataset.name}-realtime-${stamp()}.csv`, lines);
  }

  function downloadPlot() {
    const { col, at, rows } = plotData();
    const first = state.model.table.columns[0];
    const limits = col.limits || [];
    const lines = [[first.label, csvHeader(col), ...limits.map((l) => `${l.label} (${col.unit_ascii || col.unit})`)]
      .map((h) => field(h, false)).join(",")];
    for (const row of rows) {
      const v = row.cells[at];
      lines.push([field(row.cells[0][0], false), field(v[0], v[1] !== null), ...limits.map((l) => field(l.value, true))].join(","));
    }
    download(`${root.dataset.name}-${col.key}-${stamp()}.csv`, lines);
  }

  // -- live ---------------------------------------------------------------------------------------

  const status = $(".live-status");
  let lastHeard = Date.now();

  function say(kind, text) {
    status.dataset.live = kind;
    status.textContent = text;
    root.classList.toggle("is-stale", kind !== "live");
  }

  function apply(message) {
    state.version = message.version;
    state.model = message.model;
    $('[data-field="time"]').textContent = state.model.time || "none yet";
    drawSummary();
    drawTable();
    updatePlot();
  }

  function connect() {
    const source = new EventSource(root.dataset.stream);
    source.addEventListener("model", (event) => {
      lastHeard = Date.now();
      apply(JSON.parse(event.data));
      say("live", "Live");
    });
    source.addEventListener("heartbeat", () => {
      lastHeard = Date.now();
      if (status.dataset.live !== "live") say("live", "Live");
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        say("stopped", "Live updates stopped: reload the page (you may have to log in again). Values shown may be old.");
      } else say("reconnecting", "Reconnecting to live updates… values shown may be old.");
    };
  }

  function poll() {
    fetch(root.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (response.status === 401) throw new Error("stopped");
        if (!response.ok) throw new Error("failed");
        return response.json();
      })
      .then((message) => {
        lastHeard = Date.now();
        apply(message);
        say("live", "Live");
        setTimeout(poll, POLL_MS);
      })
      .catch((error) => {
        if (error.message === "stopped") {
          say("stopped", "Live updates stopped: reload the page (you may have to log in again). Values shown may be old.");
        } else {
          say("reconnecting", "Reconnecting to live updates… values shown may be old.");
          setTimeout(poll, POLL_MS);
        }
      });
  }

  setInterval(() => {
    if (Date.now() - lastHeard > STALE_AFTER_MS && status.dataset.live === "live") {
      say("silent", "No live update for a while: values shown may be old.");
    }
  }, 5000);

  // -- controls -------------------------------------------------------------------------------------

  root.querySelectorAll('table[data-table="children"] button.sort').forEach((button) => {
    button.addEventListener("click", () => {
      const at = Number(button.dataset.column);
      state.descending = state.sort === at ? !state.descending : false;
      state.sort = at;
      drawTable();
    });
  });
  sizeSelect.addEventListener("change", () => {
    state.size = Number(sizeSelect.value);
    state.page = 0;
    drawTable();
  });
  $('[data-page="previous"]').addEventListener("click", () => { state.page -= 1; drawTable(); });
  $('[data-page="next"]').addEventListener("click", () => { state.page += 1; drawTable(); });
  if (paramSelect) paramSelect.addEventListener("change", makePlot);
  $('[data-download="table"]').addEventListener("click", downloadTable);
  if (paramSelect) $('[data-download="plot"]').addEventListener("click", downloadPlot);
  const summaryButton = $('[data-download="summary"]');
  if (summaryButton) summaryButton.addEventListener("click", downloadSummary);
  window.addEventListener("resize", () => state.plot && state.plot.setSize({ width: plotWidth(), height: 320 }));

  drawSummary();
  drawTable();
  makePlot();
  if (root.dataset.poll) poll();
  else connect();
})();
