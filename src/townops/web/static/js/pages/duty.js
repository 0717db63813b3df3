// 值班表 /duty: who is on duty now and in the week ahead (GET /api/v1/duty). The shift on
// duty comes first, its on-duty chain in the order the links are called when a critical
// alarm is not acknowledged (值班员 → 带班领导 …); then each day's shifts. Staff only.

import { api } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { lang } from "../core/i18n.js";
import { errorBox } from "../core/shell.js";

const messages = {
  zh: {
    title: "值班表",
    onNow: "正在值班",
    chainHint: "紧急告警无人确认时，依次通知：",
    week: "近 7 天",
    day: "日期",
    swapped: "换班",
    noRoster: "本镇未配置值班表（duty.yaml）。",
    until: "{start} – {end}",
  },
  en: {
    title: "Duty roster",
    onNow: "On duty now",
    chainHint: "A critical alarm nobody acknowledges calls, in turn:",
    week: "The next 7 days",
    day: "Date",
    swapped: "swap",
    noRoster: "This town keeps no duty roster (duty.yaml).",
    until: "{start} – {end}",
  },
};

const named = (item, key) => (lang() === "zh" ? item[`${key}_zh`] : item[`${key}_en`]);

function person(link, t) {
  return h("span", { class: "duty-person", "data-testid": "duty-person" },
    link.display_name,
    link.swapped ? h("span", { class: "badge", title: t("swapped") }, t("swapped")) : null);
}

function nowCard(watch, t, fmt) {
  return h("section", { class: "card duty-now", "data-testid": "duty-now" },
    h("div", { class: "card-head" },
      h("h2", {}, `${t("onNow")} · ${named(watch, "shift")}`),
      h("span", { class: "muted" }, t("until", { start: fmt.dateTime(watch.starts_at), end: fmt.dateTime(watch.ends_at) }))),
    h("p", { class: "muted" }, t("chainHint")),
    h("ol", { class: "duty-chain" },
      watch.chain.map((link) => h("li", {}, h("span", { class: "duty-position" }, named(link, "position")), person(link, t)))));
}

function weekTable(watches, t, fmt) {
  const shifts = [...new Map(watches.map((w) => [w.shift, w])).values()];
  const days = [...new Set(watches.map((w) => w.day))];
  const cell = (day, shift) => {
    const watch = watches.find((w) => w.day === day && w.shift === shift.shift);
    if (!watch) return h("td", {}, "—");
    return h("td", { class: watch.on_now ? "on-now" : null, "aria-current": watch.on_now ? "true" : null },
      watch.chain.map((link) => h("div", {}, h("span", { class: "muted" }, `${named(link, "position")} `), person(link, t))));
  };
  return h("section", { class: "card" },
    h("h2", {}, t("week")),
    h("div", { class: "table-scroll" },
      h("table", { class: "duty-week", "data-testid": "duty-week" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("day")),
                    // The API gives the shift's start in town time (+08:00): its clock is in the text.
          shifts.map((s) => h("th", { scope: "col" }, `${named(s, "shift")} ${s.starts_at.slice(11, 16)}`)))),
        h("tbody", {}, days.map((day) => h("tr", {}, h("th", { scope: "row" }, fmt.day(day)), shifts.map((s) => cell(day, s))))))));
}

async function render({ main, t, fmt, setTitle }) {
  await useStyle("../../css/duty.css", import.meta.url);
  setTitle(t("title"));
  const body = h("div", { class: "duty" });
  replaceChildren(main, h("section", { class: "duty-page" }, h("div", { class: "page-head" }, h("h1", {}, t("title"))), body));
  try {
    const roster = await api("/api/v1/duty", { query: { days: 7 } });
    replaceChildren(body, nowCard(roster.now, t, fmt), weekTable(roster.watches, t, fmt));
  } catch (error) {
    if (error?.status === 404) replaceChildren(body, h("p", { class: "muted", "data-testid": "no-roster" }, t("noRoster")));
    else if (error?.status !== 401) replaceChildren(body, errorBox(error));
  }
}

export default { messages, render };
