// 设备详情 /devices/{id}: one device (GET /api/v1/devices/{id}): its type, place, online
// state and last report, its latest value per quantity with units (the town's sensing
// words, from the reference data), a chart of one quantity over the last 24 h or 7 days
// (GET …/readings, fetched a page of 1,000 at a time), and its open alarms with the same
// buttons as the alarm console (core/alarmrows.js). The household of an in-home device is
// shown as the API masks it.

import { api } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { lang, pick } from "../core/i18n.js";
import { known } from "../core/labels.js";
import { loadReference } from "../core/reference.js";
import { timeChart } from "../core/charts.js";
import { errorBox } from "../core/shell.js";
import { PAGE_ROLES } from "../core/session.js";
import { ageText, alarmRow, bySeverity } from "../core/alarmrows.js";

const messages = {
  zh: {
    title: "设备 {id}",
    back: "告警台",
    online: "在线",
    offline: "离线",
    type: "设备类型",
    model: "型号",
    network: "接入平台",
    place: "所属居村",
    jurisdiction: "所在网格",
    address: "地址",
    building: "楼栋",
    owner_unit: "权属单位",
    installed_on: "安装日期",
    household: "住户",
    masked: "（已脱敏）",
    heartbeat: "心跳周期",
    seconds: "{n} 秒",
    last_seen: "最近上报",
    never: "从未上报",
    offline_since: "离线起始",
    values: "最新数值",
    noValues: "暂无数据",
    history: "历史曲线",
    range_day: "近24小时",
    range_week: "近7天",
    quantity: "指标",
    noReadings: "该时段没有数据",
    partial: "数据较多，仅显示前 {n} 条",
    alarmLine: "告警线 {v}",
    alarms: "未关闭告警",
    noAlarms: "没有未关闭的告警",
    inactive: "已停用",
    done: "告警 #{id} 已更新",
  },
  en: {
    title: "Device {id}",
    back: "Alarm console",
    online: "Online",
    offline: "Offline",
    type: "Type",
    model: "Model",
    network: "Network",
    place: "Community",
    jurisdiction: "Grid",
    address: "Address",
    building: "Building",
    owner_unit: "Owner",
    installed_on: "Installed",
    household: "Household",
    masked: "(masked)",
    heartbeat: "Heartbeat",
    seconds: "{n} s",
    last_seen: "Last report",
    never: "never reported",
    offline_since: "Offline since",
    values: "Latest values",
    noValues: "No data yet",
    history: "History",
    range_day: "Last 24 h",
    range_week: "Last 7 days",
    quantity: "Quantity",
    noReadings: "No data in this period",
    partial: "Many readings: showing the first {n}",
    alarmLine: "alarm line {v}",
    alarms: "Open alarms",
    noAlarms: "No open alarms",
    inactive: "inactive",
    done: "Alarm #{id} updated",
  },
};

const HOUR = 3600 * 1000;
const RANGES = { day: 24 * HOUR, week: 7 * 24 * HOUR };
const PAGE = 1000;
const MAX_PAGES = 12; // 12,000 readings: a week of a device reporting every minute

async function render({ main, t, fmt, me, params, setTitle }) {
  const id = safeDecode(params[0]);
  await useStyle("../../css/alarms.css", import.meta.url);
  setTitle(t("title", { id }));
  const [device, reference, alarms] = await Promise.all([
    api(`/api/v1/devices/${encodeURIComponent(id)}`),
    loadReference(),
    api("/api/v1/alarms", { query: { device: id, open: true, limit: 50 } }),
  ]);
  const type = (reference.raw?.sensing?.device_types || []).find((d) => d.code === device.type);
  const quantities = quantitiesOf(device, type);
  const flash = h("p", { class: "flash", role: "status", "data-testid": "flash" });

  // ---- the device
  const place = (code) => (code ? known("place", code) ?? code : null);
  const household = device.household
    ? `${[device.household.name, device.household.phone].filter(Boolean).join(" ")}${device.household.masked ? ` ${t("masked")}` : ""}`
    : null;
  const rows = [
    ["type", pick(device, "type_name") || device.type],
    ["model", device.model],
    ["network", device.network],
    ["place", place(device.community_code)],
    ["jurisdiction", device.jurisdiction_code !== device.community_code ? place(device.jurisdiction_code) : null],
    ["building", device.building],
    ["address", device.address && device.address !== device.building ? device.address : null],
    ["owner_unit", device.owner_unit],
    ["installed_on", device.installed_on ? fmt.day(device.installed_on) : null],
    ["household", household],
    ["heartbeat", t("seconds", { n: fmt.number(device.heartbeat_seconds) })],
    ["last_seen", device.last_seen ? `${fmt.dateTime(device.last_seen)} · ${ageText(device.last_seen, fmt)}` : t("never")],
    ["offline_since", device.offline_since ? fmt.dateTime(device.offline_since) : null],
  ].filter(([, v]) => v);

  const valuesCard = h("section", { class: "card device-values" }, h("h2", {}, t("values")),
    quantities.filter((q) => typeof device.values[q.code] === "number").length
      ? h("ul", { class: "value-list", "data-testid": "device-values" },
        quantities.filter((q) => typeof device.values[q.code] === "number").map((q) =>
          h("li", { "data-quantity": q.code },
            h("span", { class: "value-name" }, pick(q) || q.code),
            h("strong", { class: "value-number" }, fmt.number(device.values[q.code])),
            q.unit ? h("span", { class: "value-unit" }, q.unit) : null)))
      : h("p", { class: "muted" }, t("noValues")));

  // ---- the chart
  const charted = quantities.filter((q) => typeof device.values[q.code] === "number");
  const state = { range: "day", quantity: charted[0]?.code || quantities[0]?.code || "" };
  const chartBox = h("div", { class: "chart-box", "data-testid": "device-chart" });
  const chartNote = h("p", { class: "muted" });
  const rangeButtons = Object.keys(RANGES).map((range) => h("button", {
    type: "button",
    "data-range": range,
    "aria-pressed": range === state.range ? "true" : "false",
    onclick: () => { state.range = range; drawChart(); },
  }, t(`range_${range}`)));
  const quantityPicker = quantities.length > 1
    ? h("select", { "data-testid": "chart-quantity", "aria-label": t("quantity"), onchange: (e) => { state.quantity = e.target.value; drawChart(); } },
      quantities.map((q) => h("option", { value: q.code, selected: q.code === state.quantity }, pick(q) || q.code)))
    : null;
  let openAlarms = alarms.items.slice().sort(bySeverity);
  let readings = { range: null, items: [], total: 0 };

  async function fetchReadings(range) {
    const from = new Date(Date.now() - RANGES[range]).toISOString();
    const first = await api(`/api/v1/devices/${encodeURIComponent(id)}/readings`, { query: { from, limit: PAGE } });
    const pages = Math.min(MAX_PAGES, Math.ceil(first.total / PAGE));
    const rest = await Promise.all(Array.from({ length: Math.max(0, pages - 1) }, (_, i) =>
      api(`/api/v1/devices/${encodeURIComponent(id)}/readings`, { query: { from, limit: PAGE, offset: (i + 1) * PAGE } })));
    return { range, from: Date.parse(from), items: [first, ...rest].flatMap((p) => p.items), total: first.total };
  }

  async function drawChart() {
    rangeButtons.forEach((b) => b.setAttribute("aria-pressed", b.dataset.range === state.range ? "true" : "false"));
    try {
      if (readings.range !== state.range) readings = await fetchReadings(state.range);
    } catch (error) {
      if (error?.status !== 401) replaceChildren(chartBox, errorBox(error, drawChart));
      return;
    }
    const q = quantities.find((x) => x.code === state.quantity);
    const points = readings.items
      .filter((r) => typeof r.values[state.quantity] === "number")
      .map((r) => ({ t: Date.parse(r.ts), v: r.values[state.quantity] }));
    chartBox.dataset.points = String(points.length);
    chartBox.dataset.range = state.range;
    chartNote.textContent = readings.total > readings.items.length ? t("partial", { n: fmt.number(readings.items.length) }) : "";
    if (!points.length) {
      replaceChildren(chartBox, h("p", { class: "muted", "data-testid": "no-readings" }, t("noReadings")));
      return;
    }
    const lines = openAlarms
      .filter((a) => a.quantity === state.quantity && typeof a.line === "number")
      .map((a) => ({ value: a.line, label: t("alarmLine", { v: a.line }) }));
    const tick = new Intl.DateTimeFormat(lang() === "zh" ? "zh-CN" : "en-GB", state.range === "day"
      ? { timeZone: fmt.timeZone, hour: "2-digit", minute: "2-digit", hour12: false }
      : { timeZone: fmt.timeZone, month: "2-digit", day: "2-digit" });
    timeChart(chartBox, points, {
      from: readings.from, to: Date.now(), fmt, unit: q?.unit || "", name: q ? pick(q) : state.quantity, lines,
      timeTick: (ms) => tick.format(new Date(ms)),
      // Every 4 hours of the town's day, or every day at midnight, in the town's time.
      tickEvery: state.range === "day" ? 4 * HOUR : 24 * HOUR,
      tickOffset: zoneOffset(fmt.timeZone),
    });
  }

  // ---- the open alarms, acted on in place
  const alarmList = h("ul", { class: "alarm-list", "data-testid": "alarm-list" });
  function drawAlarms() {
    replaceChildren(alarmList, openAlarms.length
      ? openAlarms.map((a) => alarmRow(a, { fmt, deviceLink: false, onChange: changed }))
      : h("li", { class: "empty" }, t("noAlarms")));
  }
  function changed(alarm) {
    flash.textContent = t("done", { id: alarm.id });
    openAlarms = openAlarms.map((a) => (a.id === alarm.id ? alarm : a));
    const el = alarmList.querySelector(`[data-alarm-id="${alarm.id}"]`);
    el?.replaceWith(alarmRow(alarm, { fmt, deviceLink: false, onChange: changed }));
    if (!alarm.open) openAlarms = openAlarms.filter((a) => a.id !== alarm.id);
  }

  const mayConsole = me && PAGE_ROLES.alarms.includes(me.role);
  replaceChildren(main, h("article", { class: "device-page", "data-testid": "device", "data-device-id": device.device_id },
    mayConsole ? h("p", { class: "back-link" }, h("a", { href: "/alarms" }, `← ${t("back")}`)) : null,
    h("div", { class: "page-head" },
      h("h1", {}, t("title", { id: device.device_id })),
      h("span", { class: `badge ${device.online ? "online" : "offline"}`, "data-testid": "device-online", "data-online": device.online ? "1" : "0" },
        device.online ? t("online") : t("offline")),
      device.active ? null : h("span", { class: "badge" }, t("inactive"))),
    flash,
    h("div", { class: "device-grid" },
      h("section", { class: "card device-fields", "data-testid": "device-fields" },
        h("dl", {}, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, value)]))),
      valuesCard,
      h("section", { class: "card device-history" },
        h("div", { class: "card-head" }, h("h2", {}, t("history")),
          h("div", { class: "chart-tools" }, quantityPicker, h("span", { class: "range-switch", "data-testid": "chart-range" }, rangeButtons))),
        chartBox, chartNote),
      h("section", { class: "card device-alarms", "data-testid": "device-alarms" }, h("h2", {}, t("alarms")), alarmList))));
  drawAlarms();
  await drawChart();
}

/** The time zone's offset from UTC now, in ms (Asia/Shanghai: 8 h). */
function zoneOffset(timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
  }).formatToParts(new Date()).map((p) => [p.type, Number(p.value)]));
  const local = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute);
  return Math.round((local - Math.floor(Date.now() / 60000) * 60000) / 60000) * 60000;
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape: the API answers 404 for it
  }
}

/** The device type's quantities (names, units) in the town's order, then any value the
 *  type does not declare, by its code. */
function quantitiesOf(device, type) {
  const declared = type?.quantities || [];
  const extra = Object.keys(device.values || {})
    .filter((code) => !declared.some((q) => q.code === code))
    .map((code) => ({ code, name_zh: code, name_en: code, unit: "" }));
  return [...declared, ...extra];
}

export default { messages, render };
