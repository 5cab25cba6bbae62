// Time plots shared by the History and Discharge pages: min/avg/max envelopes drawn with uPlot,
// times in the site's time zone, gaps where there is no data, drag to zoom.
"use strict";

window.btms = window.btms || {};

btms.plots = (function () {
  const COLORS = ["#0b5fa5", "#c62828", "#1a7f37", "#b26a00", "#6f42c1", "#00838f", "#ad1457", "#5d4037"];
  // A step between two intervals with data longer than this many usual steps (the median) is a
  // gap, not a line. Not one interval: a zoom can ask for intervals shorter than the time
  // between two stored samples (hourly summaries, a slow scan), and every other one is empty.
  const GAP_FACTOR = 2.5;

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // GET a JSON document of the API with the session cookie; waits and retries a few times on 429
  // (at most two history queries at once per client). Throws an Error with the API's message.
  async function getJson(url) {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 429 && attempt < 5) {
        await sleep(1000 * Number(response.headers.get("Retry-After") || 1));
        continue;
      }
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const message = body && body.error ? body.error.message : response.statusText;
        throw new Error(`${response.status}: ${message}`);
      }
      return body;
    }
  }

  // The parts of a time in `zone`: {year, month, day, hour, minute, second} as strings.
  function zoneParts(t, zone) {
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    const parts = {};
    for (const p of format.formatToParts(new Date(t * 1000))) parts[p.type] = p.value;
    return parts;
  }

  // "2026-12-02 23:15:02" in the site's zone, as the tables show times.
  function localText(t, zone) {
    const p = zoneParts(t, zone);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  }

  // "2026-12-02T23:15", the value of a datetime-local input showing `t` in the site's zone.
  function wallText(t, zone) {
    const p = zoneParts(t, zone);
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  }

  function offsetS(t, zone) {
    const p = zoneParts(t, zone);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) / 1000 - Math.floor(t);
  }

  // A datetime-local value read as a wall time in `zone` -> UNIX seconds (NaN when empty).
  function wallToUnix(text, zone) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text || "");
    if (!m) return NaN;
    const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) / 1000;
    const first = guess - offsetS(guess, zone);
    return guess - offsetS(first, zone); // the offset at the instant itself (across a DST change)
  }

  function iso(t) {
    return new Date(Math.round(t * 1000)).toISOString();
  }

  // Series of [time ISO, min, avg, max] rows -> uPlot's columns [x, min1, avg1, max1, min2, ...].
  // Buckets missing from a series are nulls (a gap in that line); a step between bucket times
  // longer than GAP_FACTOR usual steps gets a row of nulls, so no line is drawn across it.
  function envelopeColumns(seriesPoints) {
    const rows = new Map();
    seriesPoints.forEach((points, k) => {
      for (const [time, lo, avg, hi] of points) {
        const t = Date.parse(time) / 1000;
        if (!rows.has(t)) rows.set(t, new Array(3 * seriesPoints.length).fill(null));
        rows.get(t).splice(3 * k, 3, lo, avg, hi);
      }
    });
    const times = [...rows.keys()].sort((a, b) => a - b);
    const steps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
    const step = steps.length ? steps[Math.floor(steps.length / 2)] : Infinity;
    const columns = [[]];
    for (let j = 0; j < 3 * seriesPoints.length; j++) columns.push([]);
    const empty = new Array(3 * seriesPoints.length).fill(null);
    times.forEach((t, i) => {
      if (i > 0 && t - times[i - 1] > GAP_FACTOR * step) push(columns, times[i - 1] + step, empty);
      push(columns, t, rows.get(t));
    });
    return columns;
  }

  function push(columns, t, values) {
    columns[0].push(t);
    values.forEach((v, j) => columns[j + 1].push(v));
  }

  function fade(color, alpha) {
    const n = parseInt(color.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  // Tick labels of the time axis in the site's zone, 24-hour: the date under each midnight (under
  // the first tick when none is in view), the date alone when the ticks are days apart
  // (the month when they are months apart).
  function timeTicks(zone) {
    return (u, splits, axis, space, increment) => {
      const parts = splits.map((t) => zoneParts(t, zone));
      const midnight = (p) => `${p.hour}${p.minute}` === "0000";
      const anyMidnight = parts.some(midnight);
      return parts.map((p, i) => {
        const day = `${p.year}-${p.month}-${p.day}`;
        if (increment >= 28 * 86400) return `${p.year}-${p.month}`;
        if (increment >= 86400) return day;
        const clock = increment < 60 ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
        return midnight(p) || (!anyMidnight && i === 0) ? `${clock}\n${day}` : clock;
      });
    };
  }

  // Tick steps of a value axis: whole multiples of the quantity's resolution (1, 2, 5 x 10^n).
  function valueSteps(decimals) {
    const steps = [];
    for (let e = -decimals; e <= 6; e++) for (const m of [1, 2, 5]) steps.push(Number((m * 10 ** e).toFixed(decimals)));
    return steps;
  }

  // Draw `names`' envelopes of one quantity {label, unit, decimals} into `element`, over `range`
  // {from, to} (UNIX seconds; the data's own extent without it). The legend shows each series'
  // mean with its minimum and maximum. onZoom(from, to): the range a person dragged across.
  function draw(element, { names, quantity, zone, columns, range, onZoom }) {
    element.replaceChildren();
    const fixed = (v) => (v == null ? "–" : v.toFixed(quantity.decimals));
    const series = [{ label: "Time", value: (u, t) => (t == null ? "–" : localText(t, zone)) }];
    const bands = [];
    names.forEach((name, k) => {
      const color = COLORS[k % COLORS.length];
      const base = series.length;
      const envelope = (u, v, s, i) =>
        i == null || v == null ? "–" : `${fixed(v)} (${fixed(u.data[base][i])} to ${fixed(u.data[base + 2][i])})`;
      series.push({ label: `${name} min`, stroke: fade(color, 0.45), width: 1, class: "envelope" });
      series.push({ label: `${name}`, stroke: color, width: 2, value: envelope });
      series.push({ label: `${name} max`, stroke: fade(color, 0.45), width: 1, class: "envelope" });
      bands.push({ series: [base + 2, base], fill: fade(color, 0.12) });
    });
    const options = {
      width: Math.max(300, element.clientWidth),
      height: Math.max(260, Math.min(420, Math.round(window.innerHeight * 0.45))),
      padding: [12, 36, 0, 0],
      tzDate: (t) => uPlot.tzDate(new Date(t * 1000), zone),
      scales: { x: range ? { time: true, range: () => [range.from, range.to] } : { time: true } },
      series: series,
      bands: bands,
      cursor: { drag: { x: true, y: false, setScale: false } },
      axes: [
        { stroke: "#1d2733", grid: { stroke: "#e3e8ee" }, values: timeTicks(zone), space: 70, size: 50 },
        {
          label: `${quantity.label} (${quantity.unit})`,
          stroke: "#1d2733",
          grid: { stroke: "#e3e8ee" },
          size: 70,
          incrs: valueSteps(quantity.decimals),
          values: (u, ticks) => ticks.map((v) => v.toFixed(quantity.decimals)),
        },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width >= 4 && onZoom) {
              const from = u.posToVal(u.select.left, "x");
              const to = u.posToVal(u.select.left + u.select.width, "x");
              onZoom(from, to);
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
      },
    };
    const plot = new uPlot(options, columns, element);
    const resize = () => plot.setSize({ width: Math.max(300, element.clientWidth), height: options.height });
    window.addEventListener("resize", resize);
    return {
      plot: plot,
      destroy() {
        window.removeEventListener("resize", resize);
        plot.destroy();
      },
    };
  }

  return { getJson, envelopeColumns, draw, iso, localText, wallText, wallToUnix };
})();
