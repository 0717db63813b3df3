// A map pin picker: the town drawn from its own GeoJSON (no tiles), a tap puts a pin and
// the point goes back to longitude/latitude through the exact inverse of the drawing's
// projection. The first tap also zooms into the community it fell in (micro-grids and
// buildings drawn), where further taps refine the pin. Arrow keys move the pin; "use my
// location" asks the browser. The place under the pin is found here, in the same polygons
// the server uses: the server's own look-up (GET /api/v1/locate) is staff-only.
//
// pinPicker({t?, initial?}) → {element, value(): {lat, lon} | null, place(), onChange(fn),
//   set({lat, lon}), clear()}. `t` may override the picker's words (keys "pin_<name>").

import { cachedApi } from "./api.js";
import { h, s, useStyle } from "./dom.js";
import { lang, pick, translator } from "./i18n.js";
import { drawMap, invertProjection, loadBasemap } from "./map.js";

const own = translator({
  zh: {
    hint: "点击地图标出问题所在位置，再次点击可细调。",
    hintZoomed: "点击地图细调位置，或用方向键移动标记。",
    here: "位置：{place}",
    outside: "此处不在{town}范围内，请重新选择。",
    myLocation: "使用我的位置",
    locating: "正在获取位置…",
    noLocation: "无法获取您的位置：{why}",
    denied: "未获授权",
    wholeTown: "返回全镇地图",
    clear: "清除标记",
    map: "地图：点击选择位置，方向键移动标记",
    loading: "正在加载地图…",
    loadFailed: "地图加载失败，可只填写地址。",
  },
  en: {
    hint: "Tap the map where the problem is; tap again to refine.",
    hintZoomed: "Tap to refine the spot, or move the pin with the arrow keys.",
    here: "Place: {place}",
    outside: "This spot is outside {town}; please choose again.",
    myLocation: "Use my location",
    locating: "Finding your location…",
    noLocation: "Your location could not be found: {why}",
    denied: "permission denied",
    wholeTown: "Back to the whole town",
    clear: "Remove the pin",
    map: "Map: click to choose a place, arrow keys move the pin",
    loading: "Loading the map…",
    loadFailed: "The map could not be loaded; an address will do.",
  },
});

// Loaded with the module: any page that builds a picker has its styles.
const styled = useStyle("../../css/pin.css", import.meta.url);

// ---------------------------------------------------------------- geometry

function polygonsOf(geometry) {
  if (geometry?.type === "Polygon") return [geometry.coordinates];
  if (geometry?.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

/** Even-odd ray casting over every ring, so holes are outside. */
export function contains(geometry, [lon, lat]) {
  let inside = false;
  for (const rings of polygonsOf(geometry)) {
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
  }
  return inside;
}

function shortName(area) {
  const name = pick(area);
  return lang() === "zh"
    ? name.replace(/(居民委员会|居委会|村民委员会|村委会)$/, "")
    : name.replace(/ (Residents'? Committee|Community|Village)$/i, "");
}

/** "南新第2微网格" inside 南新 is "第2微网格": the community's name is already the view's. */
function withinCommunity(area, community) {
  const name = pick(area);
  const prefix = shortName(community);
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length).trim() : name;
}

function featuresAt(level) {
  return cachedApi(`/api/v1/jurisdictions?level=${level}`).then((fc) =>
    fc.features.map((f) => ({ ...f.properties, geometry: f.geometry })));
}

// ---------------------------------------------------------------- the picker

export function pinPicker({ t: pageT, initial } = {}) {
  const say = (key, vars) => {
    const asked = pageT ? pageT(`pin_${key}`, vars) : null;
    return asked && asked !== `pin_${key}` ? asked : own(key, vars);
  };
  const listeners = [];
  const state = { point: null, view: null, projection: null, unproject: null, data: null };

  const svg = s("svg", {
    class: "pin-map",
    "data-testid": "pin-map",
    tabindex: "0",
    role: "application",
    "aria-label": say("map"),
  });
  const placeLine = h("p", { class: "pin-place", "data-testid": "pin-place", "aria-live": "polite" }, say("loading"));
  const zoomOut = h("button", { type: "button", class: "pin-zoom-out", "data-testid": "pin-zoom-out", hidden: true }, say("wholeTown"));
  const clearButton = h("button", { type: "button", class: "pin-clear", "data-testid": "pin-clear", hidden: true }, say("clear"));
  const mine = h("button", { type: "button", class: "pin-mine", "data-testid": "pin-my-location" }, say("myLocation"));
  mine.hidden = !("geolocation" in navigator);
  const element = h("div", { class: "pin-picker", "data-testid": "pin-picker" },
    h("div", { class: "pin-map-box" }, svg),
    placeLine,
    h("div", { class: "pin-tools" }, mine, zoomOut, clearButton));

  // ------------------------------------------------------------ drawing

  function draw() {
    const d = state.data;
    if (!d) return;
    const community = state.view && d.communities.find((c) => c.code === state.view);
    const areas = community
      ? [...d.grids.filter((g) => g.parent === community.code),
        ...d.buildings.filter((b) => b.code.startsWith(`${community.code}-`))]
      : d.communities;
    state.projection = drawMap(svg, {
      outline: community ? community.geometry : d.town?.geometry,
      areas,
      fill: (a) => (a.level === "building" ? "#64748b" : a.code === state.place?.community?.code || a.code === state.place?.grid?.code ? "#bfdbfe" : "#e2e8f0"),
      // Buildings get their names below, at a size that stays readable on a phone.
      label: (a) => [a.level === "building" ? "" : community ? withinCommunity(a, community) : shortName(a)],
      title: (a) => pick(a),
      basemap: d.basemap,
    });
    state.unproject = invertProjection(state.projection);
    if (community) labelBuildings(areas.filter((a) => a.level === "building"));
    svg.classList.toggle("zoomed", Boolean(community));
    zoomOut.hidden = !community;
    drawPin();
  }

  function labelBuildings(buildings) {
    const shown = svg.getBoundingClientRect().width || state.projection.width;
    const unitsPerPixel = state.projection.width / shown;
    const size = 11 * unitsPerPixel;
    const group = s("g", { class: "labels building-labels" });
    for (const b of buildings) {
      if (b.geometry?.type !== "Point") continue;
      const [x, y] = state.projection.project(b.geometry.coordinates);
      group.append(s("text", { class: "label building", x: x.toFixed(1), y: (y - 9 * unitsPerPixel).toFixed(1), "font-size": size.toFixed(1) }, pick(b)));
    }
    svg.append(group);
  }

  function drawPin() {
    svg.querySelector(".pin-layer")?.remove();
    if (!state.point || !state.projection) return;
    const [x, y] = state.projection.project([state.point.lon, state.point.lat]);
    const r = Math.min(state.projection.width, state.projection.height) / 26;
    // A drop whose tip is the point itself.
    const drop = `M0 0C${-r * 0.2} ${-r * 0.9} ${-r} ${-r * 1.3} ${-r} ${-r * 2.1}A${r} ${r} 0 1 1 ${r} ${-r * 2.1}C${r} ${-r * 1.3} ${r * 0.2} ${-r * 0.9} 0 0Z`;
    svg.append(s("g", { class: "pin-layer", "data-testid": "pin", transform: `translate(${x.toFixed(2)} ${y.toFixed(2)})` },
      s("path", { class: "pin-drop", d: drop }),
      s("circle", { class: "pin-dot", cx: "0", cy: (-r * 2.1).toFixed(2), r: (r * 0.4).toFixed(2) })));
  }

  // ------------------------------------------------------------ the point and its place

  function locate(point) {
    const d = state.data;
    if (!d || !point) return null;
    const at = [point.lon, point.lat];
    const grid = d.grids.find((g) => contains(g.geometry, at)) || null;
    const community = (grid && d.communities.find((c) => c.code === grid.parent))
      || d.communities.find((c) => contains(c.geometry, at)) || null;
    const inTown = Boolean(community) || (d.town ? contains(d.town.geometry, at) : false);
    return { community, grid, inTown };
  }

  function describe() {
    element.classList.remove("outside");
    if (!state.point) {
      placeLine.textContent = state.view ? say("hintZoomed") : say("hint");
      return;
    }
    const p = state.place;
    if (!p?.community) {
      element.classList.add("outside");
      placeLine.textContent = say("outside", { town: pick(state.data?.town) || "" });
      return;
    }
    placeLine.textContent = say("here", { place: [pick(p.community), p.grid && pick(p.grid)].filter(Boolean).join(" · ") });
  }

  function setPoint(point, { zoom = true } = {}) {
    state.point = point ? { lat: point.lat, lon: point.lon } : null;
    state.place = locate(state.point);
    if (state.point) {
      element.dataset.lat = String(state.point.lat);
      element.dataset.lon = String(state.point.lon);
    } else {
      delete element.dataset.lat;
      delete element.dataset.lon;
    }
    element.dataset.community = state.place?.community?.code || "";
    clearButton.hidden = !state.point;
    const target = zoom && state.place?.community ? state.place.community.code : state.view;
    if (target !== state.view) {
      state.view = target;
      draw();
    } else {
      draw(); // the fills follow the place
    }
    describe();
    for (const fn of listeners) fn(state.point);
  }

  /** The map point under a pointer event, in the SVG's own units (viewBox, aspect kept). */
  function svgPoint(event) {
    const matrix = svg.getScreenCTM();
    if (!matrix) return null;
    return new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
  }

  svg.addEventListener("click", (event) => {
    if (!state.unproject) return;
    const p = svgPoint(event);
    if (!p) return;
    const [lon, lat] = state.unproject([p.x, p.y]);
    setPoint({ lat, lon });
  });

  svg.addEventListener("keydown", (event) => {
    if (!state.unproject || !state.projection) return;
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const step = steps[event.key];
    if (!step && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    const { width, height } = state.projection;
    const [x, y] = state.point
      ? state.projection.project([state.point.lon, state.point.lat])
      : [width / 2, height / 2];
    const size = (event.shiftKey ? 0.1 : 0.02) * Math.min(width, height);
    const [dx, dy] = step || [0, 0];
    const [lon, lat] = state.unproject([x + dx * size, y + dy * size]);
    // Keys move within the view: zooming under the keyboard would jump the pin's scale.
    setPoint({ lat, lon }, { zoom: !state.view && !step });
  });

  zoomOut.addEventListener("click", () => {
    state.view = null;
    draw();
    describe();
  });

  clearButton.addEventListener("click", () => setPoint(null, { zoom: false }));

  mine.addEventListener("click", () => {
    placeLine.textContent = say("locating");
    mine.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        mine.disabled = false;
        setPoint({ lat: position.coords.latitude, lon: position.coords.longitude });
      },
      (error) => {
        mine.disabled = false;
        placeLine.textContent = say("noLocation", { why: error.code === 1 ? say("denied") : error.message });
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });

  const ready = Promise.all(["town", "community", "micro_grid", "building"].map(featuresAt).concat(loadBasemap(), styled))
    .then(([towns, communities, grids, buildings, basemap]) => {
      state.data = { town: towns[0] || null, communities, grids, buildings, basemap };
      state.view = null;
      if (initial && Number.isFinite(initial.lat) && Number.isFinite(initial.lon)) setPoint(initial);
      else {
        draw();
        describe();
      }
    })
    .catch((error) => {
      if (error?.status === 401) return;
      element.classList.add("failed");
      placeLine.textContent = say("loadFailed");
    });

  return {
    element,
    ready,
    value: () => (state.point ? { ...state.point } : null),
    place: () => state.place,
    onChange: (fn) => listeners.push(fn),
    set: (point) => setPoint(point),
    clear: () => setPoint(null, { zoom: false }),
  };
}
