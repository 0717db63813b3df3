// Small SVG and HTML charts for the pages: no chart library.

import { clear, h, s } from "./dom.js";

/** A whole-number step for four grid lines covering `value`: 1, 2, 5, 10, 20, 25, 50… */
function niceStep(value) {
  const raw = Math.max(1, Math.ceil(value / 4));
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= raw && Number.isInteger(v)) || raw;
}

/**
 * Days as bars (first series) with a line (second series).
 * days: [{day: "2022-12-31", a: n, b: n}], names: [barName, lineName], fmt: core/format.
 */
export function dayChart(container, days, { names, fmt }) {
  clear(container);
  const legend = h("div", { class: "chart-legend" },
    h("span", { class: "key bar" }, names[0]), h("span", { class: "key line" }, names[1]));
  container.append(legend);
  // Drawn at the box's own size (one unit = one pixel) so the text keeps its size;
  // in a flowing layout (phones) the box has no height of its own: a fixed one then.
  const width = Math.max(280, container.clientWidth || 640);
  const room = container.clientHeight - legend.offsetHeight - 4;
  const height = room > 120 ? room : 200;
  const pad = { left: 40, right: 8, top: 10, bottom: 26 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const step = niceStep(Math.max(1, ...days.map((d) => Math.max(d.a, d.b))));
  const top = step * 4;
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  const band = innerW / Math.max(1, days.length);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart day-chart", role: "img", "aria-label": names.join(" / ") });
  for (let i = 0; i <= 4; i++) {
    const v = step * i;
    svg.append(
      s("line", { x1: pad.left, x2: width - pad.right, y1: y(v).toFixed(1), y2: y(v).toFixed(1), class: "grid" }),
      s("text", { x: pad.left - 6, y: (y(v) + 4).toFixed(1), class: "axis", "text-anchor": "end" }, fmt.number(v)),
    );
  }
  days.forEach((d, i) => {
    const x = pad.left + i * band;
    const bar = s("rect", {
      x: (x + band * 0.15).toFixed(1), y: y(d.a).toFixed(1), width: (band * 0.7).toFixed(1),
      height: Math.max(0, pad.top + innerH - y(d.a)).toFixed(1), class: "bar",
    });
    bar.append(s("title", {}, `${d.day}  ${names[0]} ${fmt.number(d.a)} · ${names[1]} ${fmt.number(d.b)}`));
    svg.append(bar);
    const every = Math.ceil(days.length / 8);
    if ((days.length - 1 - i) % every === 0) {
      svg.append(s("text", { x: (x + band / 2).toFixed(1), y: height - 8, class: "axis", "text-anchor": "middle" }, fmt.dayShort(d.day)));
    }
  });
  const line = days.map((d, i) => `${i ? "L" : "M"}${(pad.left + (i + 0.5) * band).toFixed(1)} ${y(d.b).toFixed(1)}`).join("");
  if (days.length) svg.append(s("path", { d: line, class: "line" }));
  container.append(svg);
  return svg;
}

/** Horizontal bars as HTML: items [{label, value, title?}], the longest bar = the largest value. */
export function barList(container, items, { fmt, testid } = {}) {
  clear(container);
  const max = Math.max(1, ...items.map((i) => i.value));
  const list = h("ol", { class: "bar-list", "data-testid": testid || null });
  for (const item of items) {
    const fill = h("span", { class: "fill" });
    fill.style.width = `${((item.value / max) * 100).toFixed(1)}%`;
    list.append(h("li", { title: item.title || null },
      h("span", { class: "name" }, item.label),
      h("span", { class: "track" }, fill),
      h("span", { class: "value" }, fmt ? fmt.number(item.value) : String(item.value))));
  }
  container.append(list);
  return list;
}

/** A step for about four grid lines over [low, high] (any real numbers): 1, 2, 2.5, 5 × 10ⁿ. */
function realStep(span) {
  const raw = Math.max(span, 1e-9) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= raw) || raw;
}

/**
 * A quantity over time as a line (one device's readings).
 * points: [{t: Date ms, v: number}] oldest first; options: {from, to (ms), fmt, unit, name,
 * lines: [{value, label}] (e.g. an alarm's line, drawn dashed), timeTick(ms) → text,
 * tickEvery (ms: a tick at each multiple of it in local time, tickOffset being the local
 * time's offset from UTC in ms; without it, six evenly spread ticks)}.
 * Gaps longer than `gapMs` (default: 6 × the median spacing) break the line.
 */
export function timeChart(container, points, { from, to, fmt, unit = "", name = "", lines = [], timeTick, tickEvery, tickOffset = 0, gapMs }) {
  clear(container);
  const width = Math.max(280, container.clientWidth || 640);
  const height = 220;
  const pad = { left: 48, right: 10, top: 10, bottom: 26 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const values = [...points.map((p) => p.v), ...lines.map((l) => l.value)];
  let low = values.length ? Math.min(...values) : 0;
  let high = values.length ? Math.max(...values) : 1;
  if (low === high) [low, high] = [low - 1, high + 1];
  const step = realStep(high - low);
  low = Math.floor(low / step) * step;
  high = Math.ceil(high / step) * step;
  const x = (ms) => pad.left + ((ms - from) / Math.max(1, to - from)) * innerW;
  const y = (v) => pad.top + innerH - ((v - low) / (high - low)) * innerH;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart time-chart", role: "img", "aria-label": [name, unit].filter(Boolean).join(" ") });
  const digits = step < 1 ? Math.min(3, Math.ceil(-Math.log10(step))) : 0;
  for (let v = low; v <= high + step / 2; v += step) {
    svg.append(
      s("line", { x1: pad.left, x2: width - pad.right, y1: y(v).toFixed(1), y2: y(v).toFixed(1), class: "grid" }),
      s("text", { x: pad.left - 6, y: (y(v) + 4).toFixed(1), class: "axis", "text-anchor": "end" }, Number(v.toFixed(digits)).toString()),
    );
  }
  for (const ms of timeTicks(from, to, tickEvery, tickOffset)) {
    const at = x(ms);
    // Labels near an edge are anchored inside the chart, so none is cut off.
    const anchor = at - pad.left < 24 ? "start" : width - pad.right - at < 24 ? "end" : "middle";
    svg.append(
      s("line", { x1: at.toFixed(1), x2: at.toFixed(1), y1: pad.top, y2: pad.top + innerH, class: "grid" }),
      s("text", { x: at.toFixed(1), y: height - 8, class: "axis", "text-anchor": anchor }, timeTick ? timeTick(ms) : new Date(ms).toISOString().slice(11, 16)),
    );
  }
  for (const line of lines) {
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y(line.value).toFixed(1), y2: y(line.value).toFixed(1), class: "limit" }));
    // At the left: the newest readings (at the right) are the ones people look at.
    svg.append(s("text", { x: pad.left + 4, y: (y(line.value) - 4).toFixed(1), class: "axis limit-label", "text-anchor": "start" }, line.label));
  }
  if (points.length) {
    const spacings = points.slice(1).map((p, i) => p.t - points[i].t).sort((a, b) => a - b);
    const gap = gapMs ?? (spacings.length ? spacings[Math.floor(spacings.length / 2)] * 6 : Infinity);
    const d = points.map((p, i) => `${i && p.t - points[i - 1].t <= gap ? "L" : "M"}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`).join("");
    svg.append(s("path", { d, class: "series" }));
    const last = points[points.length - 1];
    const dot = s("circle", { cx: x(last.t).toFixed(1), cy: y(last.v).toFixed(1), r: 3, class: "last" });
    dot.append(s("title", {}, `${fmt ? fmt.number(last.v) : last.v}${unit ? ` ${unit}` : ""}`));
    svg.append(dot);
  }
  container.append(svg);
  return svg;
}

/** Tick instants in [from, to]: each multiple of `every` in local time (offset: local − UTC,
 *  in ms), or six evenly spread ones. */
function timeTicks(from, to, every, offset) {
  if (!every) return Array.from({ length: 6 }, (_, i) => from + ((to - from) * i) / 5);
  const ticks = [];
  for (let ms = Math.ceil((from + offset) / every) * every - offset; ms <= to; ms += every) ticks.push(ms);
  return ticks;
}
