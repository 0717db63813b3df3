// The town drawn from its own GeoJSON as SVG, no projection library. A simple
// equirectangular projection (longitude scaled by cos(latitude)) is exact enough for a
// town a few kilometres across. Map tiles under it are optional (a town's own tile server
// or folder, see docs/web.md); without them the background is plain.

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
  if (!coords.length) {
    return { width, height: width / 2, project: () => [width / 2, width / 4], invert: () => null };
  }
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
    /** The [lon, lat] drawn at user-space point [x, y] (the exact inverse of project). */
    invert: ([x, y]) => [minLon + (x - pad) / (k * scale), maxLat - (y - pad) / scale],
  };
}

// ---------------------------------------------------------------- optional tiles

const TILE_SIZE = 256;
const MAX_TILES = 80;

function tileX(lon, z) {
  return ((lon + 180) / 360) * 2 ** z;
}

function tileY(lat, z) {
  const phi = (lat * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * 2 ** z;
}

function lonOfTile(x, z) {
  return (x / 2 ** z) * 360 - 180;
}

function latOfTile(y, z) {
  return (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / 2 ** z))) * 180) / Math.PI;
}

/**
 * Web-mercator XYZ tiles under the map, at the zoom whose pixels best match the screen's.
 * Within a town a tile's mercator rows are, to well under a pixel, straight in latitude, so
 * each tile is one <image> stretched between its projected corners.
 */
function drawTiles(svg, projection, tiles) {
  const { width, height, invert, project } = projection;
  const [west, north] = invert([0, 0]);
  const [east, south] = invert([width, height]);
  const shown = svg.getBoundingClientRect().width || width;
  const pixelsPerDegree = (project([east, north])[0] - project([west, north])[0]) / (east - west) * (shown / width);
  let z = Math.ceil(Math.log2((pixelsPerDegree * 360) / TILE_SIZE));
  z = Math.max(0, Math.min(tiles.max_zoom ?? 18, z));
  const span = (zoom) => (Math.floor(tileX(east, zoom)) - Math.floor(tileX(west, zoom)) + 1)
    * (Math.floor(tileY(south, zoom)) - Math.floor(tileY(north, zoom)) + 1);
  while (z > 0 && span(z) > MAX_TILES) z -= 1;
  const group = s("g", { class: "tiles", "aria-hidden": "true" });
  for (let x = Math.floor(tileX(west, z)); x <= Math.floor(tileX(east, z)); x += 1) {
    for (let y = Math.floor(tileY(north, z)); y <= Math.floor(tileY(south, z)); y += 1) {
      const [x0, y0] = project([lonOfTile(x, z), latOfTile(y, z)]);
      const [x1, y1] = project([lonOfTile(x + 1, z), latOfTile(y + 1, z)]);
      const href = tiles.url.replace("{z}", z).replace("{x}", x).replace("{y}", y);
      group.append(s("image", {
        href, x: x0.toFixed(1), y: y0.toFixed(1),
        // A hair wider than the tile, so rounding leaves no seam between neighbours.
        width: (x1 - x0 + 0.6).toFixed(1), height: (y1 - y0 + 0.6).toFixed(1), preserveAspectRatio: "none",
      }));
    }
  }
  svg.append(group);
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
 * ink(area) → text colour class, onSelect(area) (makes areas clickable), selectable(area),
 * tiles ({url, max_zoom, attribution} from /api/v1/web/config: drawn underneath).
 */
export function drawMap(svg, { outline, areas, fill, label, title, ink, onSelect, selectable, tiles }) {
  const geometries = areas.map((a) => a.geometry).filter(Boolean);
  const projection = fitProjection(outline ? [outline, ...geometries] : geometries);
  const { project } = projection;
  clear(svg);
  svg.setAttribute("viewBox", `0 0 ${projection.width.toFixed(0)} ${projection.height.toFixed(0)}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  svg.classList.toggle("has-tiles", Boolean(tiles?.url));
  if (tiles?.url) drawTiles(svg, projection, tiles);
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
  // Below ~8 screen pixels a name is unreadable (long English names on a phone): such an
  // area shows only its figure, and its name stays in the tooltip and the aria-label.
  const shownWidth = svg.getBoundingClientRect().width || projection.width;
  const legible = (8 * projection.width) / shownWidth;
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
      let [first, second] = label(area);
      // As large as the area allows: the name fits its width, two lines fit its height.
      let size = polygons.length
        ? Math.max(small * 0.35, Math.min(common, fitted.get(area.code) ?? common))
        : small * 0.5;
      if (polygons.length && size < legible && second !== undefined) {
        [first, second] = [second, undefined];
        size = Math.min(common, box.h / 2, (box.w * 0.86) / ems(first));
      }
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
  if (tiles?.url && tiles.attribution) {
    const { width, height } = projection;
    const px = width / (svg.getBoundingClientRect().width || width); // one screen pixel
    svg.append(s("text", {
      class: "attribution", x: width - 4 * px, y: height - 4 * px, "font-size": (12 * px).toFixed(1),
    }, tiles.attribution));
  }
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

// ---------------------------------------------------------------- inverse projection

/**
 * The inverse of a projection made by fitProjection: an SVG point [x, y] → [lon, lat].
 * That projection is affine on each axis (x grows with longitude, y with minus latitude),
 * so the images of two points pin it down exactly. Null for the degenerate projection of
 * nothing (every point maps to the centre).
 */
export function invertProjection({ project }) {
  const [x0, y0] = project([0, 0]);
  const [x1, y1] = project([1, 1]);
  if (x1 === x0 || y1 === y0) return null;
  return ([x, y]) => [(x - x0) / (x1 - x0), (y - y0) / (y1 - y0)];
}
