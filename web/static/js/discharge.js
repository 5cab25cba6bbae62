// The Discharge tab: a string or cell time plot of one event, at the full resolution of its scans.
"use strict";

(function () {
  const panel = document.getElementById("discharge-plot");
  if (!panel) return;
  const config = JSON.parse(panel.dataset.config);
  const title = document.getElementById("discharge-plot-title");
  const quantitySelect = document.getElementById("discharge-quantity");
  const cellBox = document.getElementById("discharge-cells");
  const status = document.getElementById("discharge-status");
  const download = document.getElementById("discharge-download");
  const area = document.getElementById("discharge-plot-area");
  let open = null; // {event, kind: "string"|"cell", cells}
  let drawn = null;
  let generation = 0;

  function fillQuantities(kind) {
    const list = kind === "cell" ? config.cell_quantities : config.string_quantities;
    quantitySelect.replaceChildren(
      ...list.map((q) => new Option(`${q.label} (${q.unit})`, q.name))
    );
  }

  function fillCells(count) {
    const legend = cellBox.querySelector("legend");
    const boxes = [];
    for (let n = 1; n <= count; n++) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(n);
      box.checked = n === 1;
      box.setAttribute("aria-label", `Cell ${n}`);
      label.append(box, String(n));
      boxes.push(label);
    }
    cellBox.replaceChildren(legend, ...boxes);
  }

  async function load() {
    const mine = ++generation;
    const list = open.kind === "cell" ? config.cell_quantities : config.string_quantities;
    const quantity = list.find((q) => q.name === quantitySelect.value);
    const cells = open.kind === "cell"
      ? [...cellBox.querySelectorAll("input:checked")].map((box) => Number(box.value))
      : [];
    if (open.kind === "cell" && cells.length === 0) {
      status.textContent = "Choose at least one cell.";
      return;
    }
    panel.dataset.state = "loading";
    status.textContent = "Loading…";
    try {
      const asks = open.kind === "cell" ? cells.map((c) => `&cell=${c}`) : [""];
      const answers = [];
      for (const ask of asks) {
        const url = `/api/v1/discharges/${open.event}/series?quantity=${quantity.name}${ask}`;
        answers.push(await btms.plots.getJson(url));
        if (mine !== generation) return;
      }
      const names = open.kind === "cell" ? cells.map((c) => `Cell ${c}`) : ["String"];
      if (drawn) drawn.destroy();
      drawn = btms.plots.draw(area, {
        names, quantity, zone: config.zone, columns: btms.plots.envelopeColumns(answers.map((a) => a.points)),
      });
      download.href = `/api/v1/discharges/${open.event}/series.csv?quantity=${quantity.name}${asks.join("")}`;
      const scans = answers.reduce((n, a) => n + a.points.length, 0);
      panel.dataset.state = "drawn";
      panel.dataset.series = String(names.length);
      status.textContent = scans ? `${scans} points` : "No scans stored for this event.";
    } catch (error) {
      if (mine !== generation) return;
      panel.dataset.state = "error";
      status.textContent = `Could not load the plot: ${error.message}`;
    }
  }

  document.querySelectorAll("button[data-plot]").forEach((button) =>
    button.addEventListener("click", () => {
      open = { event: button.dataset.event, kind: button.dataset.plot };
      title.textContent = button.dataset.title;
      fillQuantities(open.kind);
      cellBox.hidden = open.kind !== "cell";
      if (open.kind === "cell") fillCells(Number(button.dataset.cells));
      panel.hidden = false;
      load();
      panel.scrollIntoView({ block: "nearest" });
    })
  );
  quantitySelect.addEventListener("change", load);
  cellBox.addEventListener("change", load);
  document.getElementById("discharge-close").addEventListener("click", () => {
    generation++;
    panel.hidden = true;
    if (drawn) drawn.destroy();
    drawn = null;
  });
})();
