// The town drawn from its own GeoJSON as SVG: no tiles, no projection library. A simple
// equirectangular projection (longitude scaled by cos(latitude)) is exact enough for a
// town a few kilometres across.

import { clear, s } from "./dom.js";

function polygonsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

function pointsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Point") return [geometry.coordinates];
  if (geometry.type === "MultiPoint") return geometry.coordinates;
  return [];
}

function coordinatesOf(geometry) {
  return [...polygonsOf(geometry).flat(2), ...pointsOf(geometry)];
}

/** A projection fitting `geometries` into a box `width` wide (the height follows). */
export function fitProjection(geometries, width = 1000, pad = 12) {
  const coords = geometries.flatMap(coordinatesOf);
  if (!coords.length) return { width, height: width / 2, project: () => [width / 2, width / 4] };
  const lons = coords.map((c) => c[0]);
  const lats = coords.map((c) => c[1]);
  const [minLon, maxLon] = [Math.min(...lons), Math.max(...lons)];
  const [minLat, maxLat] = [Math.min(...lats), Math.max(...lats)];
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-4);
  const spanY = Math.max(maxLat - minLat, 1e-4);
  const scale = (width - 2 * pad) / spanX;
  const height = spanY * scale + 2 * pad;
  return {
    width,
    height,
    project: ([lon, lat]) => [pad + (lon - minLon) * k * scale, pad + (maxLat - lat) * scale],
  };
}

function pathData(polygons, project) {
  return polygons
    .map((rings) => rings
      .map((ring) => ring.map((c, i) => `${i ? "L" : "M"}${project(c).map((v) => v.toFixed(1)).join(" ")}`).join("") + "Z")
      .join(""))
    .join("");
}

/** The projected box of a geometry's outer rings (or points): {x, y, w, h}. */
function boxOf(geometry, project) {
  const polygons = polygonsOf(geometry);
  const points = polygons.length ? polygons.map((rings) => rings[0]).flat() : pointsOf(geometry);
  const xy = points.map(project);
  if (!xy.length) return null;
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return { x: (x0 + x1) / 2, y: (y0 + y1) / 2, w: x1 - x0, h: y1 - y0 };
}

/** Width of a text in ems, roughly: a CJK character is one em, other characters about half. */
function ems(text) {
  let width = 0;
  for (const ch of String(text)) width += /[\u2e80-\u9fff\uff00-\uffef]/.test(ch) ? 1 : 0.56;
  return Math.max(width, 2);
}

/**
 * Draw `areas` ([{code, geometry, …}]) into `svg`, each filled by `fill(area)`.
 * Options: outline (GeoJSON geometry), label(area) → [line, line2], title(area) → text,
 * ink(area) → text colour class, onSelect(area) (makes areas clickable), selectable(area).
 */
export function drawMap(svg, { outline, areas, fill, label, title, ink, onSelect, selectable }) {
  const geometries = areas.map((a) => a.geometry).filter(Boolean);
  const projection = fitProjection(outline ? [outline, ...geometries] : geometries);
  const { project } = projection;
  clear(svg);
  svg.setAttribute("viewBox", `0 0 ${projection.width.toFixed(0)} ${projection.height.toFixed(0)}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  if (outline && polygonsOf(outline).length) {
    svg.append(s("path", { class: "outline", d: pathData(polygonsOf(outline), project) }));
  }
  const labels = s("g", { class: "labels" });
  const small = Math.min(projection.width, projection.height) / 28;
  // The size each label could take in its area; all share the median, so short names do
  // not shout, and a long name shrinks only as far as its own area needs.
  const fitted = new Map();
  for (const area of areas) {
    const box = label && polygonsOf(area.geometry).length ? boxOf(area.geometry, project) : null;
    if (box) fitted.set(area.code, Math.min((box.w * 0.86) / ems(label(area)[0]), box.h / 3, small * 1.2));
  }
  const sizes = [...fitted.values()].sort((a, b) => a - b);
  const common = sizes.length ? sizes[Math.floor(sizes.length / 2)] : small;
  for (const area of areas) {
    const clickable = onSelect && (!selectable || selectable(area));
    const group = s("g", {
      class: ["area", clickable && "clickable"],
      "data-area": area.code,
      tabindex: clickable ? "0" : null,
      role: clickable ? "button" : "img",
      "aria-label": title ? title(area) : area.code,
    });
    const colour = fill(area);
    const polygons = polygonsOf(area.geometry);
    if (polygons.length) group.append(s("path", { d: pathData(polygons, project), fill: colour }));
    for (const point of pointsOf(area.geometry)) {
      const [cx, cy] = project(point);
      group.append(s("circle", { cx: cx.toFixed(1), cy: cy.toFixed(1), r: (small * 0.6).toFixed(1), fill: colour }));
    }
    if (title) group.append(s("title", {}, title(area)));
    if (clickable) {
      group.addEventListener("click", () => onSelect(area));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onSelect(area);
        }
      });
    }
    svg.append(group);
    const box = label ? boxOf(area.geometry, project) : null;
    if (box) {
      const [first, second] = label(area);
      // As large as the area allows: the name fits its width, two lines fit its height.
      const size = polygons.length
        ? Math.max(small * 0.35, Math.min(common, fitted.get(area.code) ?? common))
        : small * 0.5;
      const x = box.x.toFixed(1);
      const y = polygons.length ? box.y : box.y - small;
      const text = s("text", {
        x, y: y.toFixed(1), class: ["label", ink && ink(area)], "font-size": size.toFixed(1),
      }, s("tspan", { x, dy: second !== undefined ? "-0.2em" : "0.35em" }, first));
      if (second !== undefined) {
        text.append(s("tspan", { x, dy: "1.15em", class: "value" }, second));
      }
      labels.append(text);
    }
  }
  svg.append(labels);
  return projection;
}

// ---------------------------------------------------------------- colour scales

const PALETTES = {
  open: ["#eef2f7", "#dbeafe", "#93c5fd", "#3b82f6", "#1d4ed8", "#1e3a8a"],
  overdue: ["#eef2f7", "#fee2e2", "#fca5a5", "#ef4444", "#b91c1c", "#7f1d1d"],
  alarms: ["#eef2f7", "#ede9fe", "#c4b5fd", "#8b5cf6", "#6d28d9", "#4c1d95"],
  satisfaction: ["#dc2626", "#f97316", "#facc15", "#84cc16", "#15803d"],
};
export const NO_DATA = "#d9dee5";
const RATE_BREAKS = [0.8, 0.85, 0.9, 0.95];

function niceStep(max, classes) {
  const raw = Math.max(1, Math.ceil(max / classes));
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= raw) || raw;
  return Math.max(1, Math.round(nice));
}

/**
 * A colour scale for one map figure. Counts: 0 on its own, then up to 5 equal classes of
 * "nice" width; rates (satisfaction): fixed breaks at 80/85/90/95 %, no rating = no data.
 * Returns {colour(value), dark(value), legend: [{colour, from, to}]}.
 */
export function colourScale(figure, values) {
  if (figure === "satisfaction") {
    const colours = PALETTES.satisfaction;
    const index = (v) => RATE_BREAKS.filter((b) => v >= b).length;
    const bounds = [0, ...RATE_BREAKS, 1];
    return {
      rate: true,
      colour: (v) => (v === null || v === undefined ? NO_DATA : colours[index(v)]),
      dark: (v) => v !== null && v !== undefined && (index(v) === 0 || index(v) === 4),
      legend: colours.map((colour, i) => ({ colour, from: bounds[i], to: bounds[i + 1] })),
    };
  }
  const colours = PALETTES[figure] || PALETTES.open;
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  const step = niceStep(max, 5);
  const index = (v) => (v <= 0 ? 0 : Math.min(5, Math.ceil(v / step)));
  const legend = [{ colour: colours[0], from: 0, to: 0 }];
  for (let i = 1; i <= Math.min(5, Math.ceil(max / step)); i++) {
    legend.push({ colour: colours[i], from: (i - 1) * step + 1, to: i * step });
  }
  return {
    rate: false,
    colour: (v) => (v === null || v === undefined ? NO_DATA : colours[index(v)]),
    dark: (v) => Number.isFinite(v) && index(v) >= 3,
    legend,
  };
}
