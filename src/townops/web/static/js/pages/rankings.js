// 考核排名: the assessment of departments and communities (GET /api/v1/assessment) by month,
// quarter or year: rank, total, every component (the figure and its points), the move since
// the period before, the units not ranked and why; the period's workbook as an XLSX download.
//
// The period shown first is the last complete month with cases: last month on a live
// system (this month is still running), 2022-12 on the demo's 2022 replay. The picker
// offers the months from the oldest case's to the newest case's.

import { api, toLogin } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { pick } from "../core/i18n.js";
import { errorBox } from "../core/shell.js";
import { clearLogin, token } from "../core/session.js";

const messages = {
  zh: {
    title: "考核排名",
    month: "考核期",
    previous: "上一期",
    next: "下一期",
    kind_month: "月度",
    kind_quarter: "季度",
    kind_year: "年度",
    export: "导出 XLSX",
    exporting: "正在导出…",
    exported: "已下载 {file}",
    departments: "职能部门",
    communities: "居村",
    rank: "排名",
    name: "名称",
    total: "总分",
    change: "较上期",
    up: "上升 {n} 名",
    down: "下降 {n} 名",
    same: "排名不变",
    newRank: "上期未排名",
    totalChange: "总分 {d}",
    notScored: "不计分",
    points: "{p} 分",
    of: "{n}/{d}",
    unranked: "不参与排名",
    tooFew: "{basis}量 {n} 件，不足 {min} 件",
    noFigure: "没有可评分的指标",
    basis_closed: "办结",
    basis_received: "受理",
    note: "{month}（{first} 至 {last}）· 本期{basis}量不少于 {min} 件的单位参与排名 · 数据截至 {now}",
    rules: "评分规则",
    weight: "权重 {w}",
    none: "没有单位。",
    stem_month: "月度考核",
    stem_quarter: "季度考核",
    stem_year: "年度考核",
  },
  en: {
    title: "Rankings",
    month: "Period",
    previous: "Previous period",
    next: "Next period",
    kind_month: "Months",
    kind_quarter: "Quarters",
    kind_year: "Years",
    export: "Export XLSX",
    exporting: "Exporting…",
    exported: "Downloaded {file}",
    departments: "Departments",
    communities: "Communities",
    rank: "Rank",
    name: "Name",
    total: "Total",
    change: "vs period before",
    up: "up {n}",
    down: "down {n}",
    same: "same rank",
    newRank: "new",
    totalChange: "total {d}",
    notScored: "not scored",
    points: "{p} pts",
    of: "{n}/{d}",
    unranked: "Not ranked",
    tooFew: "{n} {basis}, fewer than {min}",
    noFigure: "no figure to score",
    basis_closed: "closed",
    basis_received: "received",
    note: "{month} ({first} to {last}) · units with at least {min} cases {basis} in the period are ranked · figures as of {now}",
    rules: "Scoring rules",
    weight: "weight {w}",
    none: "No units.",
    stem_month: "monthly-assessment",
    stem_quarter: "quarterly-assessment",
    stem_year: "annual-assessment",
  },
};

const UNITS = ["departments", "communities"];
// A month 2022-06, a quarter 2022-Q2 or a year 2022 (the API's `period`).
const PERIOD = /^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$/;
const KINDS = ["month", "quarter", "year"];
const MAX_MONTHS = 60;
const OPEN_UNRANKED = 15; // a longer list of units not ranked starts folded

/** "2022-12" of an instant, in the town's time zone. */
function monthOf(iso, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit" }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return `${get("year")}-${get("month")}`;
}

function shiftMonth(month, by) {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

function kindOf(period) {
  if (/-Q/.test(period)) return "quarter";
  return period.length === 4 ? "year" : "month";
}

/** The quarters and years the months fall in, newest first, each once. */
function periodsOf(months) {
  const quarter = (m) => `${m.slice(0, 4)}-Q${Math.ceil(Number(m.slice(5, 7)) / 3)}`;
  return {
    month: months,
    quarter: [...new Set(months.map(quarter))],
    year: [...new Set(months.map((m) => m.slice(0, 4)))],
  };
}

/** Months from `last` back to `first`, newest first (at most MAX_MONTHS). */
function monthsBetween(first, last) {
  const out = [];
  for (let m = last; out.length < MAX_MONTHS; m = shiftMonth(m, -1)) {
    out.push(m);
    if (m <= first) break;
  }
  return out;
}

async function render(ctx) {
  const { main, t, fmt, config, url, setTitle } = ctx;
  await useStyle("../../css/work.css", import.meta.url);
  setTitle(t("title"));
  const zone = fmt.timeZone;

  // The months that have cases: the oldest and the newest case (two one-row queries).
  const [newest, oldest] = await Promise.all([
    api("/api/v1/cases", { query: { order: "-received_at", page_size: 1 } }),
    api("/api/v1/cases", { query: { order: "received_at", page_size: 1 } }),
  ]);
  const thisMonth = monthOf(new Date().toISOString(), zone);
  const latest = newest.items[0] ? monthOf(newest.items[0].received_at, zone) : thisMonth;
  const earliest = oldest.items[0] ? monthOf(oldest.items[0].received_at, zone) : latest;
  // Only the months that have cases are offered.
  const months = monthsBetween(earliest, latest);
  // The month a leader ranks is the last complete one: this month is still running.
  const lastComplete = latest === thisMonth && earliest < latest ? shiftMonth(latest, -1) : latest;
  // `month` is the period shown: a month, a quarter or a year (`?period=`; `?month=` of old).
  const asked = url.searchParams.get("period") || url.searchParams.get("month");
  let month = asked && PERIOD.test(asked) ? asked : lastComplete;
  if (kindOf(month) === "month" && !months.includes(month)) {
    months.push(month);
    months.sort().reverse();
  }
  const periods = periodsOf(months);
  if (!periods[kindOf(month)].includes(month)) periods[kindOf(month)].unshift(month);
  const sameKind = () => periods[kindOf(month)];

  const picker = h("select", { id: "rk-month", "data-testid": "month", "aria-label": t("month") },
    KINDS.map((kind) => h("optgroup", { label: t(`kind_${kind}`) },
      periods[kind].map((m) => h("option", { value: m }, m)))));
  const back = h("button", { type: "button", "data-testid": "month-previous", title: t("previous"), "aria-label": t("previous") }, "◀");
  const forward = h("button", { type: "button", "data-testid": "month-next", title: t("next"), "aria-label": t("next") }, "▶");
  const exportButton = h("button", { type: "button", class: "primary", "data-testid": "export" }, t("export"));
  const exportState = h("span", { class: "rk-note", role: "status", "data-testid": "export-state" });
  const note = h("p", { class: "rk-note", "data-testid": "rankings-note" });
  const body = h("div", { class: "rk-grid", "data-testid": "rankings" });
  replaceChildren(main, h("div", { class: "rk-page" },
    h("div", { class: "rk-bar" },
      h("h1", {}, t("title")),
      h("div", { class: "rk-month" }, h("label", { for: "rk-month" }, t("month")), back, picker, forward),
      exportButton, exportState),
    note, body));

  function choose(next) {
    if (!next || !periods[kindOf(next)].includes(next) || next === month) return;
    month = next;
    const address = new URL(location.href);
    address.searchParams.delete("month");
    address.searchParams.set("period", month);
    history.pushState(null, "", address.pathname + address.search);
    draw();
  }
  picker.addEventListener("change", () => choose(picker.value));
  back.addEventListener("click", () => choose(sameKind()[sameKind().indexOf(month) + 1]));
  forward.addEventListener("click", () => choose(sameKind()[sameKind().indexOf(month) - 1]));
  window.addEventListener("popstate", () => {
    const here = new URL(location.href).searchParams;
    const m = here.get("period") || here.get("month");
    month = m && PERIOD.test(m) && periods[kindOf(m)].includes(m) ? m : latest;
    draw();
  });
  exportButton.addEventListener("click", () => download());

  let drawing = 0;
  async function draw() {
    const mine = ++drawing;
    picker.value = month;
    back.disabled = sameKind().indexOf(month) >= sameKind().length - 1;
    forward.disabled = sameKind().indexOf(month) <= 0;
    body.setAttribute("aria-busy", "true");
    try {
      const reports = await Promise.all(UNITS.map((of) => api("/api/v1/assessment", { query: { period: month, of } })));
      if (mine !== drawing) return; // a newer month was asked for meanwhile
      const [first] = reports;
      note.textContent = t("note", {
        month: first.label,
        first: first.period.first_day,
        last: first.period.last_day,
        min: first.min_cases,
        basis: t(`basis_${first.count_basis}`),
        now: fmt.dateTime(first.now),
      });
      replaceChildren(body, reports.map((report) => unitCard(report)));
      body.dataset.month = month;
    } catch (error) {
      if (error?.status === 401 || mine !== drawing) return;
      replaceChildren(body, errorBox(error, draw));
      note.textContent = "";
      if (error?.status === 403) exportButton.disabled = true;
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  function unitCard(report) {
    const rules = new Map(report.rules.map((r) => [r.key, r]));
    const ranked = report.rows.filter((r) => r.ranked);
    const unranked = report.rows.filter((r) => !r.ranked);
    const headRow = h("tr", {},
      h("th", { scope: "col" }, t("rank")),
      h("th", { scope: "col", class: "rk-name" }, t("name")),
      h("th", { scope: "col" }, t("total")),
      report.rules.map((r) => h("th", { scope: "col", title: pick(r, "rule") }, pick(r))),
      h("th", { scope: "col" }, t("change")));
    return h("section", { class: "card rk-card", "data-testid": `rankings-${report.of}`, "data-of": report.of },
      h("h2", {}, t(report.of)),
      ranked.length
        ? h("div", { class: "rk-scroll" }, h("table", { class: "rk-table" },
          h("thead", {}, headRow),
          h("tbody", {}, ranked.map((row) => rankRow(row, rules)))))
        : h("p", { class: "empty" }, t("none")),
      unranked.length
        ? h("details", { class: "rk-unranked-box", open: unranked.length <= OPEN_UNRANKED || !ranked.length },
          h("summary", {}, `${t("unranked")} (${unranked.length})`),
          h("ul", { class: "rk-unranked", "data-testid": "unranked" }, unranked.map((row) =>
            h("li", { "data-code": row.code }, h("strong", {}, pick(row)), h("span", { class: "why" }, whyNot(row, report))))))
        : null,
      h("details", { class: "rk-rules" }, h("summary", {}, t("rules")),
        h("ul", {}, report.rules.map((r) => h("li", {}, `${pick(r)}（${t("weight", { w: r.weight })}）：${pick(r, "rule")}`)))));
  }

  function rankRow(row, rules) {
    return h("tr", { "data-code": row.code, "data-testid": "rank-row", "data-rank": row.rank },
      h("td", { class: "rk-rank" }, String(row.rank)),
      h("td", { class: "rk-name" }, pick(row)),
      h("td", { class: "rk-total", "data-testid": "total" }, row.total.toFixed(2)),
      row.components.map((c) => componentCell(c, rules.get(c.key))),
      h("td", { class: "rk-change", "data-label": t("change") }, change(row)));
  }

  function componentCell(c, rule) {
    const raw = c.value === null ? "—" : fmt.percent(c.value);
    const points = c.points === null ? t("notScored") : t("points", { p: c.points.toFixed(2) });
    return h("td", { class: "rk-comp", "data-key": c.key, "data-label": rule ? pick(rule) : c.key, title: t("of", { n: c.numerator, d: c.denominator }) },
      h("span", { class: "rk-raw" }, raw), h("span", { class: "rk-points" }, points));
  }

  function change(row) {
    const total = row.total_change === null ? "" : t("totalChange", { d: `${row.total_change > 0 ? "+" : ""}${row.total_change.toFixed(2)}` });
    if (row.rank_change === null) return h("span", { class: "rk-same", title: total }, t("newRank"));
    if (row.rank_change > 0) return h("span", { class: "rk-up", title: total, "aria-label": t("up", { n: row.rank_change }) }, `▲${row.rank_change}`);
    if (row.rank_change < 0) return h("span", { class: "rk-down", title: total, "aria-label": t("down", { n: -row.rank_change }) }, `▼${-row.rank_change}`);
    return h("span", { class: "rk-same", title: total, "aria-label": t("same") }, "—");
  }

  function whyNot(row, report) {
    const n = report.count_basis === "closed" ? row.closed : row.received;
    if (n < report.min_cases) return t("tooFew", { basis: t(`basis_${report.count_basis}`), n, min: report.min_cases });
    return t("noFigure");
  }

  /** The period's workbook: fetched with the bearer token (a plain link could not send it),
   *  then saved from a blob: URL (the page's CSP allows blob: for this). */
  async function download() {
    const bearer = token();
    if (!bearer) return toLogin();
    exportButton.disabled = true;
    exportState.textContent = t("exporting");
    try {
      const response = await fetch(`/api/v1/assessment.xlsx?period=${encodeURIComponent(month)}`, {
        headers: { Authorization: `Bearer ${bearer}` },
      });
      if (response.status === 401) {
        clearLogin();
        return toLogin();
      }
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        throw Object.assign(new Error(problem?.error?.message || `HTTP ${response.status}`), { status: response.status });
      }
      const file = fileName(month);
      const link = h("a", { href: URL.createObjectURL(await response.blob()), download: file, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      exportState.textContent = t("exported", { file });
    } catch (error) {
      replaceChildren(exportState, errorBox(error));
    } finally {
      exportButton.disabled = false;
    }
  }

  function fileName(m) {
    // "高行镇-月度考核-2022-12.xlsx": the town, what it is and the period, safe on every system.
    const town = (config?.town ? pick(config.town) : "townops").replace(/[\\/:*?"<>|\s]+/g, "-");
    return `${town}-${t(`stem_${kindOf(m)}`)}-${m}.xlsx`;
  }

  await draw();
}

export default { messages, render };
