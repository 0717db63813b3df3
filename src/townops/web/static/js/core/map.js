// The town drawn from its own GeoJSON as SVG, no projection library. A simple
// equirectangular projection (longitude scaled by cos(latitude)) is exact enough for a
// town a few kilometres across. Under the areas: the town's base map when it has one
// (roads, metro lines and stations from its basemap.geojson, served by townops itself),
// and optional map tiles (a town's own tile server or folder, see docs/web.md).

import { webConfig } from "./api.js";
import { clear, s, useStyle } from "./dom.js";
import { lang } from "./i18n.js";

// Loaded with the module: every page that draws a map has the base map's styles.
useStyle("../../css/map.css", import.meta.url);

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
function drawTiles(svg, projection, tiles, top = 0) {
  const { width, height, invert, project } = projection;
  const [west, north] = invert([0, -top]);
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

// ---------------------------------------------------------------- the base map

let basemapLoad = null;

/** The town's base map (GeoJSON with an `attribution`), fetched once per page; null when the
 *  town has none or it cannot be had (the maps are then drawn without it). */
export function loadBasemap() {
  basemapLoad ??= webConfig()
    .then(async (config) => {
      if (!config?.basemap) return null;
      const response = await fetch(config.basemap, { headers: { Accept: "application/json" } });
      return response.ok ? response.json() : null;
    })
    .catch(() => null);
  return basemapLoad;
}

function linesOf(geometry) {
  if (geometry?.type === "LineString") return [geometry.coordinates];
  if (geometry?.type === "MultiLineString") return geometry.coordinates;
  return [];
}

function lineData(geometry, project) {
  return linesOf(geometry)
    .map((line) => line.map((c, i) => `${i ? "L" : "M"}${project(c).map((v) => v.toFixed(1)).join(" ")}`).join(""))
    .join("");
}

/** A station's name as the map shows it: 巨峰路站 in Chinese; in English the Chinese name
 *  (the data has no other), so the label is never dropped. */
function stationName(properties) {
  const name = properties.name || "";
  return lang() === "zh" && name && !name.endsWith("站") ? `${name}站` : name;
}

function box(x, y, w, h) {
  return { x, y, w, h };
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Where a station's name goes: right of its dot, else left, below or above, the first
 *  that stays on the map and clear of the names and dots already placed (else right). */
function placeName(name, x, y, size, px, { width, height }, taken) {
  const w = ems(name) * size;
  const gap = 7 * px;
  const choices = [
    { anchor: "right", x: x + gap, y: y + 0.35 * size, box: box(x + gap, y - size / 2, w, size) },
    { anchor: "left", x: x - gap, y: y + 0.35 * size, box: box(x - gap - w, y - size / 2, w, size) },
    { anchor: "below", x, y: y + gap + size * 0.85, box: box(x - w / 2, y + gap, w, size) },
    { anchor: "above", x, y: y - gap, box: box(x - w / 2, y - gap - size, w, size) },
  ];
  const inside = (b) => b.x >= 0 && b.x + b.w <= width && b.y >= 0 && b.y + b.h <= height;
  const fits = (c) => inside(c.box) && !taken.some((t) => overlaps(t, c.box));
  return choices.find(fits) || choices[0];
}

/**
 * Roads and metro lines go under the areas (which turn see-through); stations, their dots
 * and names, over them, so a resident can find "near 巨峰路站". `px` is one screen pixel in
 * the map's units: the names keep one size whatever the zoom.
 */
function drawBasemap(projection, basemap, px) {
  const { project, width } = projection;
  const under = s("g", { class: "basemap", "aria-hidden": "true" });
  const over = s("g", { class: "basemap-stations", "aria-hidden": "true" });
  const order = { town: 0, road: 1, metro_line: 2 };
  const lines = basemap.features.filter((f) => f.properties?.kind in order)
    .sort((a, b) => order[a.properties.kind] - order[b.properties.kind]);
  for (const feature of lines) {
    const { kind, colour, name } = feature.properties;
    const path = s("path", { class: `bm-${kind.replace("_", "-")}`, d: lineData(feature.geometry, project) });
    // A line's own colour (Shanghai Metro's), set through the CSSOM as the CSP asks.
    if (kind === "metro_line" && colour) path.style.stroke = colour;
    if (name) path.append(s("title", {}, name));
    under.append(path);
  }
  const size = 11 * px;
  const stations = basemap.features
    .filter((f) => f.properties?.kind === "metro_station" && f.geometry?.type === "Point")
    .map((f) => ({ name: stationName(f.properties), key: f.properties.name, at: project(f.geometry.coordinates) }))
    // Only the stations on the map: a label cut by its edge would mislead.
    .filter(({ at: [x, y] }) => x >= 0 && x <= width && y >= 0 && y <= projection.height)
    .sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1]);
  const taken = stations.map(({ at: [x, y] }) => box(x - 4 * px, y - 4 * px, 8 * px, 8 * px));
  for (const { name, key, at: [x, y] } of stations) {
    over.append(s("circle", { class: "bm-station", cx: x.toFixed(1), cy: y.toFixed(1), r: (4 * px).toFixed(1) }));
    const place = placeName(name, x, y, size, px, projection, taken);
    taken.push(place.box);
    over.append(s("text", {
      class: ["bm-station-name", place.anchor],
      x: place.x.toFixed(1), y: place.y.toFixed(1), "font-size": size.toFixed(1), "data-station": key,
    }, name));
  }
  return { under, over };
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

/** Where an area's label goes: the centroid of its largest outer ring (inside a Voronoi
 *  cell, where its box's centre may not be), else the box's centre. */
function anchorOf(geometry, project, box) {
  const rings = polygonsOf(geometry).map((rings) => rings[0].map(project));
  let best = null;
  for (const ring of rings) {
    let area = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      area += cross;
      cx += (ring[j][0] + ring[i][0]) * cross;
      cy += (ring[j][1] + ring[i][1]) * cross;
    }
    if (area && (!best || Math.abs(area) > best.area)) best = { area: Math.abs(area), x: cx / (3 * area), y: cy / (3 * area) };
  }
  return best ? [best.x, best.y] : [box.x, box.y];
}

/** A name on one line, or on two when that lets it be larger: English at the space that
 *  balances the lines best (a word is never cut), Chinese in the middle. */
function lineChoices(name) {
  const text = String(name ?? "");
  const choices = [[text]];
  const words = text.split(" ");
  if (words.length > 1) {
    let best = null;
    for (let i = 1; i < words.length; i++) {
      const pair = [words.slice(0, i).join(" "), words.slice(i).join(" ")];
      if (!best || Math.max(...pair.map(ems)) < Math.max(...best.map(ems))) best = pair;
    }
    choices.push(best);
  } else if ([...text].length >= 5 && /^[\u2e80-\u9fff\uff00-\uffef]+$/.test(text)) {
    const chars = [...text];
    const half = Math.ceil(chars.length / 2);
    choices.push([chars.slice(0, half).join(""), chars.slice(half).join("")]);
  }
  return choices;
}

/** The largest size (within `cap`) at which `lines` (and a value line under them, if any)
 *  fit an area's box. */
function fitSize(lines, withValue, box, cap) {
  const widest = Math.max(...lines.map(ems));
  return Math.min((box.w * 0.86) / widest, box.h / (lines.length + (withValue ? 1 : 0) + 1), cap);
}

/** How an area's name is set: its lines (one or two) and the size that fits them. */
function nameLayout(name, withValue, box, cap) {
  const [one, two] = lineChoices(name).map((lines) => ({ lines, size: fitSize(lines, withValue, box, cap) }));
  // Two lines only when they make the name clearly larger.
  return two && two.size > one.size * 1.25 ? two : one;
}

/**
 * Draw `areas` ([{code, geometry, …}]) into `svg`, each filled by `fill(area)`.
 * Options: outline (GeoJSON geometry), label(area) → [name, value?], title(area) → text,
 * ink(area) → text colour class, onSelect(area) (makes areas clickable), selectable(area),
 * tiles ({url, max_zoom, attribution} from /api/v1/web/config: drawn underneath),
 * basemap (the town's base map from loadBasemap(): drawn underneath, stations over).
 * The map's credits (the tiles', the base map's) go in a strip above the map, where they
 * cover nothing.
 */
export function drawMap(svg, { outline, areas, fill, label, title, ink, onSelect, selectable, tiles, basemap }) {
  const geometries = areas.map((a) => a.geometry).filter(Boolean);
  const projection = fitProjection(outline ? [outline, ...geometries] : geometries);
  const { project, width, height } = projection;
  clear(svg);
  // One screen pixel in the map's units (the SVG is scaled to its box).
  const px = width / (svg.getBoundingClientRect().width || width);
  const hasBasemap = Boolean(basemap?.features?.length);
  const credits = [tiles?.url && tiles.attribution, hasBasemap && basemap.attribution].filter(Boolean);
  const strip = credits.length ? 16 * px : 0;
  svg.setAttribute("viewBox", `0 ${(-strip).toFixed(1)} ${width.toFixed(0)} ${(height + strip).toFixed(0)}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  svg.classList.toggle("has-tiles", Boolean(tiles?.url));
  svg.classList.toggle("has-basemap", hasBasemap);
  if (tiles?.url) drawTiles(svg, projection, tiles, strip);
  if (outline && polygonsOf(outline).length) {
    svg.append(s("path", { class: "outline", d: pathData(polygonsOf(outline), project) }));
  }
  const base = hasBasemap ? drawBasemap(projection, basemap, px) : null;
  if (base) svg.append(base.under);
  const labels = s("g", { class: "labels" });
  const small = Math.min(width, height) / 28;
  // The size each label could take in its area; all share the median, so short names do
  // not shout, and a long name shrinks only as far as its own area needs.
  const layouts = new Map();
  for (const area of areas) {
    const box = label && polygonsOf(area.geometry).length ? boxOf(area.geometry, project) : null;
    if (box) {
      const [name, value] = label(area);
      layouts.set(area.code, nameLayout(name, value !== undefined, box, small * 1.2));
    }
  }
  const sizes = [...layouts.values()].map((l) => l.size).sort((a, b) => a - b);
  const common = sizes.length ? sizes[Math.floor(sizes.length / 2)] : small;
  // Below ~8 screen pixels a name is hard to read (long English names on a phone): it is
  // set at 8 pixels all the same, a little wider than its area, rather than dropped.
  const legible = 8 * px;
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
    if (box) labels.append(areaLabel(area, { box, project, label, ink, layout: layouts.get(area.code), common, small, legible }));
  }
  if (base) svg.append(base.over);
  svg.append(labels);
  if (credits.length) {
    svg.append(s("text", {
      class: "attribution", "data-testid": "map-attribution",
      x: (width - 4 * px).toFixed(1), y: (-strip + 12 * px).toFixed(1), "font-size": (11 * px).toFixed(1),
    }, credits.join(" · ")));
  }
  return projection;
}

/** An area's name (on one or two lines) and its value under it; a point's name above it. */
function areaLabel(area, { box, project, label, ink, layout, common, small, legible }) {
  const [name, value] = label(area);
  const lines = layout ? [...layout.lines] : [String(name ?? "")];
  const size = layout ? Math.max(legible, Math.min(common, layout.size)) : small * 0.5;
  const [x, y] = layout ? anchorOf(area.geometry, project, box) : [box.x, box.y - small];
  const all = value !== undefined ? [...lines, value] : lines;
  // The block of lines is centred on the anchor (1.15 em apart; 0.35 em centres a line).
  const first = 0.35 - ((all.length - 1) * 1.15) / 2;
  const text = s("text", { x: x.toFixed(1), y: y.toFixed(1), class: ["label", ink && ink(area)], "font-size": size.toFixed(1) });
  all.forEach((line, i) => {
    text.append(s("tspan", {
      x: x.toFixed(1), dy: `${(i ? 1.15 : first).toFixed(2)}em`, class: i === lines.length ? "value" : null,
    }, line));
  });
  return text;
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
