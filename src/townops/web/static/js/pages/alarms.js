// 告警台 /alarms: the open device alarms the caller may see (GET /api/v1/alarms?open=true&
// order=severity: critical first, then the newest), each with its device, place, value,
// age and case, and the buttons the API allows (core/alarmrows.js); the alarms closed in
// the last 24 h below. New alarms and closings arrive on the live feed (core/live.js);
// a new critical alarm flashes its row and, once the user has switched the sound on (the
// browser allows sound only after a click), plays a short tone. Acknowledgements made
// elsewhere are not on the feed: the lists reload every minute.

import { api } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { openLive } from "../core/live.js";
import { loadReference } from "../core/reference.js";
import { label } from "../core/labels.js";
import { errorBox } from "../core/shell.js";
import { ageText, alarmRow, beep, bySeverity, setSound, soundWanted, unlockAudio } from "../core/alarmrows.js";

const messages = {
  zh: {
    title: "告警台",
    open: "未关闭告警",
    closed: "近24小时已关闭",
    severity: "级别",
    state: "状态",
    allSeverities: "全部级别",
    allOpen: "全部未关闭",
    soundOn: "声音提示：开",
    soundOff: "声音提示：关",
    soundTitle: "新的严重告警到达时发出提示音",
    soundBlocked: "浏览器尚未允许播放声音：点击页面任意处即可启用。",
    live: "实时",
    connecting: "连接中",
    down: "连接中断，正在重试",
    count: "共 {n} 条",
    shown: "显示前 {n} 条（共 {total} 条），可按级别或状态筛选",
    none: "没有未关闭的告警",
    noneClosed: "近24小时没有关闭的告警",
    readOnly: "您可以查看告警；确认、现场核实和误报由城运中心与承办单位处理。",
    done_acknowledge: "告警 #{id} 已确认",
    done_verify: "告警 #{id} 已现场核实",
    done_false_alarm: "告警 #{id} 已标为误报",
    newCritical: "新的严重告警：{rule}",
  },
  en: {
    title: "Alarm console",
    open: "Open alarms",
    closed: "Closed in the last 24 h",
    severity: "Severity",
    state: "State",
    allSeverities: "All severities",
    allOpen: "All open",
    soundOn: "Sound: on",
    soundOff: "Sound: off",
    soundTitle: "Play a tone when a new critical alarm arrives",
    soundBlocked: "The browser has not allowed sound yet: click anywhere on the page to enable it.",
    live: "Live",
    connecting: "Connecting",
    down: "Disconnected, retrying",
    count: "{n} in all",
    shown: "Showing the first {n} of {total}: filter by severity or state",
    none: "No open alarms",
    noneClosed: "No alarm closed in the last 24 h",
    readOnly: "You may read the alarms; the operations centre and the units in charge acknowledge, verify and close them.",
    done_acknowledge: "Alarm #{id} acknowledged",
    done_verify: "Alarm #{id} verified on site",
    done_false_alarm: "Alarm #{id} marked a false alarm",
    newCritical: "New critical alarm: {rule}",
  },
};

const OPEN_STATES = ["raised", "acknowledged", "verified"];
const SEVERITIES = ["critical", "warning", "info"];
const LIMIT = 200;
const REFRESH_MS = 60_000;
const AGE_MS = 30_000;
const DAY_MS = 24 * 3600 * 1000;
const FLASH_MS = 8000;

async function render({ main, t, fmt, me, url, setTitle }) {
  await useStyle("../../css/alarms.css", import.meta.url);
  setTitle(t("title"));
  await loadReference(); // device types, rules and places in words

  const filters = {
    severity: SEVERITIES.includes(url.searchParams.get("severity")) ? url.searchParams.get("severity") : "",
    state: OPEN_STATES.includes(url.searchParams.get("state")) ? url.searchParams.get("state") : "",
  };
  const openRows = new Map(); // alarm id → {alarm, el}
  const openList = h("ul", { class: "alarm-list", "data-testid": "alarm-list" });
  const closedList = h("ul", { class: "alarm-list closed", "data-testid": "closed-list" });
  const openCount = h("span", { class: "wq-count", "data-testid": "open-count" });
  const closedCount = h("span", { class: "wq-count", "data-testid": "closed-count" });
  const openNote = h("p", { class: "muted alarm-more" });
  const openError = h("div");
  const closedError = h("div");
  const flash = h("p", { class: "flash", role: "status", "data-testid": "flash" });
  const liveState = h("span", { class: "badge live-state", "data-testid": "live-state", "data-state": "connecting" }, t("connecting"));
  const soundHint = h("p", { class: "muted sound-hint", hidden: true, "data-testid": "sound-hint" }, t("soundBlocked"));

  // ---- sound: off until the user switches it on (remembered in localStorage)
  const soundButton = h("button", { type: "button", class: "sound-toggle", "data-testid": "sound-toggle", title: t("soundTitle") });
  const drawSound = () => {
    const on = soundWanted();
    soundButton.textContent = on ? t("soundOn") : t("soundOff");
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    const context = on ? unlockAudio() : null;
    soundHint.hidden = !(on && context && context.state !== "running");
  };
  soundButton.addEventListener("click", () => {
    setSound(!soundWanted());
    drawSound();
    if (soundWanted()) beep();
  });
  // A choice remembered from before needs one gesture on this page to be allowed to sound.
  const wake = () => {
    if (soundWanted()) unlockAudio()?.resume?.().then(drawSound, () => {});
  };
  document.addEventListener("pointerdown", wake);
  document.addEventListener("keydown", wake);

  // ---- filters (kept in the URL, so a reload or a shared link keeps them)
  const select = (name, first, values, words) => h("select", {
    name, "data-testid": `filter-${name}`, "aria-label": t(name),
    onchange: (event) => {
      filters[name] = event.target.value;
      const next = new URL(location.href);
      if (filters[name]) next.searchParams.set(name, filters[name]);
      else next.searchParams.delete(name);
      history.replaceState(null, "", next.pathname + next.search);
      loadOpen().then(loadClosed);
    },
  }, h("option", { value: "" }, first), values.map((v) => h("option", { value: v, selected: filters[name] === v }, words(v))));

  const readOnly = me?.role === "leader";
  replaceChildren(main, h("section", { class: "alarm-page", "data-testid": "alarm-console" },
    h("div", { class: "page-head" },
      h("h1", {}, t("title")),
      liveState,
      h("div", { class: "alarm-tools" },
        select("severity", t("allSeverities"), SEVERITIES, (v) => label("severity", v)),
        select("state", t("allOpen"), OPEN_STATES, (v) => label("alarm", v)),
        soundButton)),
    soundHint,
    readOnly ? h("p", { class: "muted", "data-testid": "read-only" }, t("readOnly")) : null,
    flash,
    h("section", { class: "card alarm-section", "data-testid": "section-open" },
      h("div", { class: "card-head" }, h("h2", {}, t("open"), " ", openCount)),
      openError, openList, openNote),
    h("section", { class: "card alarm-section", "data-testid": "section-closed" },
      h("div", { class: "card-head" }, h("h2", {}, t("closed"), " ", closedCount)),
      closedError, closedList)));
  drawSound();

  const matches = (a) => (!filters.severity || a.severity === filters.severity) && (!filters.state || a.state === filters.state);

  // ---- the open list: rows keyed by alarm id, kept in severity order
  // Draws (or redraws) an alarm's row; an alarm closed or no longer matching the filters
  // leaves the list, and the total with it.
  function place(alarm, { fresh = false } = {}) {
    const old = openRows.get(alarm.id);
    if (!alarm.open || !matches(alarm)) {
      if (old) {
        old.el.remove();
        openRows.delete(alarm.id);
        openTotal = Math.max(0, openTotal - 1);
      }
      return null;
    }
    if (!old) openTotal += 1;
    const el = alarmRow(alarm, { fmt, onChange: changed });
    if (fresh) el.classList.add("flash-new");
    if (old) old.el.replaceWith(el);
    openRows.set(alarm.id, { alarm, el });
    return el;
  }

  function order() {
    const sorted = [...openRows.values()].sort((a, b) => bySeverity(a.alarm, b.alarm));
    sorted.forEach(({ el }) => openList.append(el)); // append moves: the order follows
    drawCounts();
  }

  let openTotal = 0;
  function drawCounts() {
    openCount.textContent = fmt.number(Math.max(openTotal, openRows.size));
    if (!openRows.size) replaceChildren(openList, h("li", { class: "empty", "data-testid": "open-empty" }, t("none")));
    else openList.querySelector(".empty")?.remove();
    openNote.textContent = openTotal > openRows.size ? t("shown", { n: openRows.size, total: openTotal }) : "";
  }

  // An action answered with the alarm as it now is: redraw its row in place (a false
  // alarm is closed: it moves to the closed list).
  function changed(alarm, action) {
    flash.textContent = t(`done_${action}`, { id: alarm.id });
    place(alarm);
    if (!alarm.open) addClosed(alarm);
    order();
  }

  async function loadOpen() {
    try {
      const page = await api("/api/v1/alarms", {
        query: { open: true, order: "severity", limit: LIMIT, severity: filters.severity, state: filters.state },
      });
      replaceChildren(openError);
      const seen = new Set(page.items.map((a) => a.id));
      for (const [id, row] of openRows) {
        if (!seen.has(id) && !row.el.dataset.busy) {
          row.el.remove();
          openRows.delete(id);
        }
      }
      for (const alarm of page.items) {
        // A row whose note form is open is left alone until the person is done.
        if (!openRows.get(alarm.id)?.el.dataset.busy) place(alarm);
      }
      openTotal = page.total; // the server's count, after place() counted the rows
      order();
    } catch (error) {
      if (error?.status !== 401) replaceChildren(openError, errorBox(error, () => loadOpen()));
    }
  }

  // ---- the closed list: the last 24 h, newest closing first
  const closedRows = new Map();
  function addClosed(alarm) {
    if (filters.severity && alarm.severity !== filters.severity) return;
    closedRows.get(alarm.id)?.remove();
    const el = alarmRow(alarm, { fmt, onChange: changed });
    closedRows.set(alarm.id, el);
    closedList.querySelector(".empty")?.remove();
    closedList.prepend(el);
    closedCount.textContent = fmt.number(closedRows.size);
  }

  async function loadClosed() {
    try {
      const since = new Date(Date.now() - DAY_MS).toISOString();
      const page = await api("/api/v1/alarms", {
        query: { open: false, closed_from: since, limit: LIMIT, severity: filters.severity },
      });
      replaceChildren(closedError);
      closedRows.clear();
      const items = page.items.sort((a, b) => String(b.closed_at).localeCompare(String(a.closed_at)));
      replaceChildren(closedList, items.length
        ? items.map((a) => {
          const el = alarmRow(a, { fmt, onChange: changed });
          closedRows.set(a.id, el);
          return el;
        })
        : h("li", { class: "empty" }, t("noneClosed")));
      closedCount.textContent = fmt.number(page.total);
    } catch (error) {
      if (error?.status !== 401) replaceChildren(closedError, errorBox(error, () => loadClosed()));
    }
  }

  // ---- live: a raised alarm is fetched (the feed item has no household, no may_act);
  // a closing moves the row to the closed list.
  async function onItem(item) {
    if (item.kind !== "alarm" || !item.alarm_id) return;
    let alarm;
    try {
      alarm = await api(`/api/v1/alarms/${item.alarm_id}`);
    } catch {
      return; // gone from the caller's scope, or the network: the next reload settles it
    }
    if (item.action === "raised" && alarm.open) {
      const known = openRows.has(alarm.id);
      const el = place(alarm, { fresh: !known && alarm.severity === "critical" });
      if (!el) return;
      order();
      if (!known && alarm.severity === "critical") {
        flash.textContent = t("newCritical", { rule: el.querySelector(".alarm-rule")?.textContent || "" });
        setTimeout(() => el.classList.remove("flash-new"), FLASH_MS);
        if (soundWanted()) beep();
      }
    } else if (!alarm.open) {
      place(alarm);
      addClosed(alarm);
      drawCounts();
    }
  }

  const states = { open: t("live"), connecting: t("connecting"), down: t("down") };
  const live = openLive({
    onItem,
    onState: (state) => {
      liveState.dataset.state = state;
      liveState.textContent = states[state] || state;
    },
  });

  await Promise.all([loadOpen(), loadClosed()]);

  // Ages tick; the lists reload now and then (acknowledgements made elsewhere).
  const ageTimer = setInterval(() => {
    for (const time of openList.querySelectorAll("time[data-age]")) time.textContent = ageText(time.dataset.age, fmt);
  }, AGE_MS);
  const refreshTimer = setInterval(() => {
    if (document.visibilityState === "visible") loadOpen().then(loadClosed);
  }, REFRESH_MS);

  return () => {
    live.close();
    clearInterval(ageTimer);
    clearInterval(refreshTimer);
    document.removeEventListener("pointerdown", wake);
    document.removeEventListener("keydown", wake);
  };
}

export default { messages, render };
