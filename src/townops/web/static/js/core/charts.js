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
