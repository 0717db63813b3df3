// The one screen (一屏总览): map, tiles, trends and the live feed of one part of the town.
// All figures come from one call, GET /api/v1/overview; the feed from GET /api/v1/live.
// Clicking an area zooms to it (?j=CODE in the URL) and everything follows.

import { api } from "../core/api.js";
import { barList, dayChart } from "../core/charts.js";
import { h, replaceChildren, s, useStyle } from "../core/dom.js";
import { lang, pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { openLive } from "../core/live.js";
import { alarmSummary, caseSummary } from "../core/alarms.js";
import { loadReference } from "../core/reference.js";
import { colourScale, drawMap, loadBasemap } from "../core/map.js";
import { errorBox } from "../core/shell.js";

const messages = {
  zh: {
    title: "一屏总览",
    backToTown: "返回全镇",
    window: "近{days}天 · 截至 {day}",
    movedBack: "最近{days}天没有工单：显示截至 {day} 的数据（演示年份）",
    fixedDay: "显示截至 {day} 的数据",
    live: "实时",
    connecting: "连接中",
    down: "已断开，重连中",
    today_intake: "今日受理",
    open: "在办工单",
    overdue: "超期工单",
    on_time_rate: "按时办结率",
    satisfaction_rate: "满意率",
    devices_online: "设备在线",
    subToday: "{day}",
    subReceived: "近{days}天受理 {n}",
    subOverdue: "占在办 {share}",
    subClosed: "近{days}天办结 {n}",
    subRated: "回访 {n} 次",
    subDevices: "在线率 {rate} · 未关闭告警 {alarms}",
    noDevices: "无登记设备",
    map: "辖区地图",
    figure_open: "在办",
    figure_overdue: "超期",
    figure_alarms: "告警",
    figure_satisfaction: "满意率",
    legendNoData: "无回访",
    unplaced: "未落到下级辖区：在办 {open}，超期 {overdue}，告警 {alarms}",
    zoomHint: "点击区域放大",
    feed: "实时动态",
    feedEmpty: "暂无动态",
    trend: "每日受理与办结（近{days}天）",
    received: "受理",
    closed: "办结",
    categories: "类别前十（近{days}天）",
    noCases: "没有工单",
    newCase: "新工单",
    alarm_raised: "{severity}告警",
    alarm_acknowledged: "{severity}告警 · 已确认",
    alarm_cleared: "{severity}告警 · 已恢复",
    alarm_false_alarm: "{severity}告警 · 误报",
  },
  en: {
    title: "Overview",
    backToTown: "Back to the town",
    window: "Last {days} days · to {day}",
    movedBack: "No case in the last {days} days: showing the days to {day} (the demo year)",
    fixedDay: "Showing the days to {day}",
    live: "Live",
    connecting: "Connecting",
    down: "Disconnected, retrying",
    today_intake: "Received today",
    open: "Open cases",
    overdue: "Overdue",
    on_time_rate: "On-time rate",
    satisfaction_rate: "Satisfaction",
    devices_online: "Devices online",
    subToday: "{day}",
    subReceived: "{n} received in {days} days",
    subOverdue: "{share} of open cases",
    subClosed: "{n} closed in {days} days",
    subRated: "{n} callbacks",
    subDevices: "{rate} online · {alarms} open alarms",
    noDevices: "no devices registered",
    map: "Map",
    figure_open: "Open",
    figure_overdue: "Overdue",
    figure_alarms: "Alarms",
    figure_satisfaction: "Satisfaction",
    legendNoData: "no callbacks",
    unplaced: "Not in a smaller area: {open} open, {overdue} overdue, {alarms} alarms",
    zoomHint: "Click an area to zoom in",
    feed: "Live feed",
    feedEmpty: "Nothing yet",
    trend: "Received and closed per day (last {days} days)",
    received: "Received",
    closed: "Closed",
    categories: "Top 10 categories (last {days} days)",
    noCases: "No cases",
    newCase: "New case",
    alarm_raised: "{severity} alarm raised",
    alarm_acknowledged: "{severity} alarm acknowledged",
    alarm_cleared: "{severity} alarm cleared",
    alarm_false_alarm: "{severity} alarm: a false alarm",
  },
};

const FIGURES = ["open", "overdue", "alarms", "satisfaction"];
const FEED_MAX = 60;
const REFRESH_SECONDS = 60;
const SETTLE_MS = 3000; // after live events, wait this long, then reload the figures once

function shortName(area) {
  const name = pick(area);
  return lang() === "zh" ? name.replace(/(居民委员会|居委会|村民委员会|村委会)$/, "") : name.replace(/ (Residents'? Committee|Community|Village)$/i, "");
}

function figureValue(area, figure) {
  return figure === "satisfaction" ? area.satisfaction_rate : area[figure];
}

async function render(ctx) {
  const { main, t, fmt, url, setTitle, config } = ctx;
  await useStyle("../../css/overview.css", import.meta.url);
  setTitle(t("title"));

  const state = {
    code: url.searchParams.get("j") || null,
    figure: FIGURES.includes(url.searchParams.get("figure")) ? url.searchParams.get("figure") : "open",
    asOf: url.searchParams.get("as_of") || "auto",
    data: null,
    feedKeys: new Set(),
    live: null,
    refreshTimer: null,
    settleTimer: null,
    basemap: null,
  };

  // ---- the frame (built once; filled on every load)
  const nodeName = h("span", { class: "node", "data-testid": "node-name" });
  const heading = h("h1", {}, t("title"), " ", nodeName);
  const trail = h("nav", { class: "trail", "data-testid": "trail", "aria-label": "trail" });
  const backButton = h("button", { type: "button", class: "back", "data-testid": "back-to-town", hidden: true }, t("backToTown"));
  const windowNote = h("span", { class: "window", "data-testid": "window" });
  const asOfNote = h("span", { class: "as-of-note", "data-testid": "as-of-note", hidden: true });
  const liveState = h("span", { class: "live-state", "data-testid": "live-state", "data-state": "connecting" }, t("connecting"));
  const tiles = h("div", { class: "ov-tiles", "data-testid": "tiles" });
  const figureSwitch = h("div", { class: "figure-switch", role: "group", "data-testid": "figure-switch" },
    FIGURES.map((f) => h("button", { type: "button", "data-figure": f, onclick: () => chooseFigure(f) }, t(`figure_${f}`))));
  const svg = s("svg", { class: "map", "data-testid": "map", role: "group" });
  const legend = h("div", { class: "legend", "data-testid": "legend" });
  const unplaced = h("p", { class: "unplaced", "data-testid": "unplaced" });
  const hint = h("p", { class: "zoom-hint" }, t("zoomHint"));
  const feedList = h("ol", { class: "feed", "data-testid": "feed", "aria-live": "polite" });
  const trendTitle = h("h2", {});
  const trendBox = h("div", { class: "trend-box", "data-testid": "trend" });
  const catsTitle = h("h2", {});
  const catsBox = h("div", { class: "cats-box", "data-testid": "categories" });
  const errorSlot = h("div", { class: "ov-error" });

  backButton.addEventListener("click", () => {
    const top = state.data?.trail?.[0];
    if (top) go(top.code);
  });

  replaceChildren(main, h("section", { class: "ov", "data-testid": "overview" },
    h("div", { class: "ov-bar" }, heading, trail, backButton, windowNote, asOfNote, liveState),
    errorSlot,
    tiles,
    h("div", { class: "card ov-map" },
      h("div", { class: "card-head" }, h("h2", {}, t("map")), figureSwitch),
      h("div", { class: "map-box" }, svg),
      h("div", { class: "map-foot" }, legend, unplaced, hint)),
    h("div", { class: "card ov-feed" }, h("div", { class: "card-head" }, h("h2", {}, t("feed"))), feedList),
    h("div", { class: "card ov-trend" }, h("div", { class: "card-head" }, trendTitle), trendBox),
    h("div", { class: "card ov-cats" }, h("div", { class: "card-head" }, catsTitle), catsBox),
  ));

  // ---- drawing

  function tile(key, value, sub) {
    return h("div", { class: `tile tile-${key}`, "data-tile": key },
      h("span", { class: "label" }, t(key)),
      h("span", { class: "value", "data-testid": `tile-${key}` }, value),
      h("span", { class: "sub" }, sub));
  }

  function drawTiles(d) {
    const x = d.tiles;
    const days = d.window.days;
    // "5,463 / 5,463": the total smaller, and free to wrap under on a narrow phone, so the
    // figure is never cut to "5,463 / 5,…".
    const devices = x.devices
      ? tile("devices_online", [fmt.number(x.devices_online), " ", h("span", { class: "of" }, `/ ${fmt.number(x.devices)}`)],
        t("subDevices", { rate: fmt.percent(x.devices_online / x.devices), alarms: fmt.number(x.open_alarms) }))
      : tile("devices_online", "—", t("noDevices"));
    replaceChildren(tiles,
      tile("today_intake", fmt.number(x.today_intake), t("subToday", { day: d.window.as_of })),
      tile("open", fmt.number(x.open), t("subReceived", { n: fmt.number(x.received), days })),
      tile("overdue", fmt.number(x.overdue), t("subOverdue", { share: fmt.percent(x.open ? x.overdue / x.open : null) })),
      tile("on_time_rate", fmt.percent(x.on_time_rate), t("subClosed", { n: fmt.number(x.closed), days })),
      tile("satisfaction_rate", fmt.percent(x.satisfaction_rate), t("subRated", { n: fmt.number(x.rated) })),
      devices,
    );
    tiles.querySelector(".tile-overdue")?.classList.toggle("alert", x.overdue > 0);
  }

  function drawHead(d) {
    nodeName.textContent = pick(d.node);
    replaceChildren(trail, d.trail.map((node, i) => {
      const last = i === d.trail.length - 1;
      return [
        i ? h("span", { class: "sep" }, "›") : null,
        last
          ? h("span", { class: "here" }, pick(node))
          : h("button", { type: "button", class: "link", "data-code": node.code, onclick: () => go(node.code) }, pick(node)),
      ];
    }));
    backButton.hidden = d.trail.length < 2;
    const w = d.window;
    windowNote.textContent = t("window", { days: w.days, day: w.as_of });
    asOfNote.hidden = !(w.moved_back || (w.mode === "date" && !w.live));
    asOfNote.textContent = w.moved_back ? t("movedBack", { days: w.days, day: w.as_of }) : t("fixedDay", { day: w.as_of });
    setTitle(`${t("title")} · ${pick(d.node)}`);
  }

  function drawMapCard(d) {
    for (const button of figureSwitch.querySelectorAll("button")) {
      button.classList.toggle("active", button.dataset.figure === state.figure);
      button.setAttribute("aria-pressed", String(button.dataset.figure === state.figure));
    }
    const figure = state.figure;
    const scale = colourScale(figure, d.areas.map((a) => figureValue(a, figure)));
    const show = (v) => (scale.rate ? fmt.percent(v, 0) : fmt.number(v));
    drawMap(svg, {
      outline: d.outline,
      areas: d.areas,
      fill: (a) => scale.colour(figureValue(a, figure)),
      ink: (a) => (scale.dark(figureValue(a, figure)) ? "on-dark" : null),
      label: (a) => [shortName(a), show(figureValue(a, figure))],
      title: (a) => `${pick(a)} · ${t(`figure_${figure}`)} ${show(figureValue(a, figure))}`,
      selectable: (a) => a.level !== "building" && a.code !== d.node.code,
      onSelect: (a) => go(a.code),
      tiles: config?.map_tiles,
      basemap: state.basemap,
    });
    const entries = scale.legend.map((e) => {
      const text = scale.rate
        ? `${Math.round(e.from * 100)}–${Math.round(e.to * 100)}%`
        : e.from === e.to ? fmt.number(e.from) : `${fmt.number(e.from)}–${fmt.number(e.to)}`;
      const swatch = h("span", { class: "swatch" });
      swatch.style.background = e.colour;
      return h("span", { class: "entry" }, swatch, text);
    });
    if (scale.rate) {
      const swatch = h("span", { class: "swatch no-data" });
      entries.push(h("span", { class: "entry" }, swatch, t("legendNoData")));
    }
    replaceChildren(legend, h("strong", {}, t(`figure_${figure}`)), entries);
    const zoomable = d.areas.some((a) => a.level !== "building" && a.code !== d.node.code);
    hint.hidden = !zoomable;
    const u = d.unplaced;
    unplaced.hidden = !(u.open || u.overdue || u.alarms);
    unplaced.textContent = t("unplaced", { open: fmt.number(u.open), overdue: fmt.number(u.overdue), alarms: fmt.number(u.alarms) });
  }

  function drawTrend(d) {
    dayChart(trendBox, d.days.map((x) => ({ day: x.day, a: x.received, b: x.closed })), {
      names: [t("received"), t("closed")], fmt,
    });
  }

  function drawCharts(d) {
    const days = d.window.days;
    trendTitle.textContent = t("trend", { days });
    catsTitle.textContent = t("categories", { days });
    drawTrend(d);
    if (!d.categories.length) {
      replaceChildren(catsBox, h("p", { class: "empty" }, t("noCases")));
    } else {
      barList(catsBox, d.categories.map((c) => ({ label: pick(c), value: c.received, title: c.code })), { fmt, testid: "category-bars" });
    }
  }

  /** "严重告警" / "Critical alarm raised": the severity and what happened, in words. */
  function alarmWhat(item) {
    const key = `alarm_${item.action}`;
    const severity = label("severity", item.severity);
    return t(key) === key ? `${severity} · ${label("alarm", item.action)}` : t(key, { severity });
  }

  function feedItem(item, fresh) {
    const isCase = item.kind === "case";
    const what = isCase
      ? [item.action === "create" ? t("newCase") : label("action", item.action), pick(item, "category_name") || item.category]
      : [alarmWhat(item), pick(item, "device_type_name") || label("device_type", item.device_type)];
    const body = [
      h("time", { datetime: item.at }, fmt.when(item.at)),
      h("span", { class: "what" }, what.filter(Boolean).join(" · ")),
      h("span", { class: "where" }, pick(item, "community_name") || ""),
      h("span", { class: "summary" }, isCase ? caseSummary(item.summary) : alarmSummary(item)),
    ];
    const inner = item.case_id ? h("a", { href: `/cases/${item.case_id}` }, body) : h("div", {}, body);
    return h("li", {
      class: ["feed-item", `kind-${item.kind}`, `action-${item.action}`, item.severity && `severity-${item.severity}`, fresh && "fresh"],
      "data-key": item.key,
      "data-case-id": item.case_id ?? null,
      "data-kind": item.kind,
    }, inner);
  }

  function fillFeed(items) {
    state.feedKeys = new Set(items.map((i) => i.key));
    replaceChildren(feedList, items.length ? items.map((i) => feedItem(i, false)) : h("li", { class: "empty" }, t("feedEmpty")));
  }

  function pushFeed(item) {
    if (state.feedKeys.has(item.key)) return;
    state.feedKeys.add(item.key);
    feedList.querySelector(".empty")?.remove();
    feedList.prepend(feedItem(item, true));
    while (feedList.children.length > FEED_MAX) feedList.lastElementChild.remove();
  }

  // ---- loading

  async function load() {
    try {
      const d = await api("/api/v1/overview", { query: { jurisdiction: state.code, as_of: state.asOf } });
      state.data = d;
      state.code = d.node.code;
      replaceChildren(errorSlot);
      drawHead(d);
      drawTiles(d);
      drawMapCard(d);
      drawCharts(d);
      return d;
    } catch (error) {
      if (error?.status === 401) return null;
      replaceChildren(errorSlot, errorBox(error, () => load()));
      return null;
    }
  }

  function connectLive() {
    state.live?.close();
    state.live = openLive({
      jurisdiction: state.code,
      onItem: (item) => {
        pushFeed(item);
        scheduleSettle();
      },
      onState: (st) => {
        liveState.dataset.state = st;
        liveState.textContent = t(st === "open" ? "live" : st);
      },
    });
  }

  function scheduleSettle() {
    if (state.settleTimer) return;
    state.settleTimer = setTimeout(async () => {
      state.settleTimer = null;
      const d = await load();
      if (d) for (const item of [...d.feed].reverse()) pushFeed(item);
    }, SETTLE_MS);
  }

  function urlFor() {
    const next = new URL(location.href);
    if (state.code && state.code !== state.data?.trail?.[0]?.code) next.searchParams.set("j", state.code);
    else next.searchParams.delete("j");
    if (state.figure !== "open") next.searchParams.set("figure", state.figure);
    else next.searchParams.delete("figure");
    return next.pathname + next.search;
  }

  async function go(code) {
    state.code = code;
    history.pushState({ code }, "", urlFor());
    const d = await load();
    if (d) fillFeed(d.feed);
    connectLive();
  }

  function chooseFigure(figure) {
    state.figure = figure;
    history.replaceState(history.state, "", urlFor());
    if (state.data) drawMapCard(state.data);
  }

  window.addEventListener("popstate", async () => {
    const here = new URL(location.href);
    state.code = here.searchParams.get("j") || state.data?.trail?.[0]?.code || null;
    state.figure = FIGURES.includes(here.searchParams.get("figure")) ? here.searchParams.get("figure") : "open";
    const d = await load();
    if (d) fillFeed(d.feed);
    connectLive();
  });

  // The trend chart is drawn at its box's size: again when the box changes size.
  let resizeTimer = null;
  new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => state.data && drawTrend(state.data), 150);
  }).observe(trendBox.parentElement);

  // In English, an alarm's summary is worded from its fields and the town's sensing words
  // (the reference data, kept for the session); in Chinese the server's message is shown.
  // The base map comes alongside the first figures; the map is drawn again when it is in.
  loadBasemap().then((basemap) => {
    state.basemap = basemap;
    if (basemap && state.data) drawMapCard(state.data);
  });
  const [first] = await Promise.all([load(), lang() === "en" ? loadReference() : null]);
  if (!first) return;
  fillFeed(first.feed);
  connectLive();
  state.refreshTimer = setInterval(load, REFRESH_SECONDS * 1000);
}

export default { messages, render };
