// /cases: case search (查询) over every case the caller may see. A search form (text —
// content, address, tracking code, #id —, state, category, department, community, overdue,
// source, received and due dates, the requester's phone for the roles shown phones), a sort,
// the count, and "导出 Excel" of the same search. The URL keeps the search (shareable; the
// back button steps through searches). The roles' own homes are their work pages.

import { ApiError, download } from "../core/api.js";
import { loadReference } from "../core/reference.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { lang, pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { casePager } from "../core/pager.js";
import { errorBox, stateBadge } from "../core/shell.js";

const messages = {
  zh: {
    title: "工单查询",
    heading: "工单查询",
    total: "共 {n} 件",
    more: "加载更多",
    none: "没有符合条件的工单。",
    overdue: "超期",
    due: "期限 {when}",
    received: "受理于 {when}",
    q: "关键词",
    qHint: "诉求内容、地址、查询码或 #编号",
    search: "查询",
    reset: "清空",
    filters: "筛选条件",
    phone: "诉求人电话",
    state: "状态",
    open: "在办（未办结）",
    category: "类别",
    department: "承办部门",
    community: "居村",
    overdueFilter: "是否超期",
    overdueYes: "已超期",
    overdueNo: "未超期",
    source: "来源",
    received_from: "受理日期 从",
    received_to: "受理日期 至",
    due_from: "办理期限 从",
    due_to: "办理期限 至",
    any: "全部",
    order: "排序",
    "order_-received_at": "受理时间（新→旧）",
    order_received_at: "受理时间（旧→新）",
    order_due_at: "办理期限（近→远）",
    "order_-due_at": "办理期限（远→近）",
    "order_-id": "编号（大→小）",
    order_id: "编号（小→大）",
    export: "导出 Excel",
    exporting: "正在导出…",
    exported: "已下载 {file}",
    fileStem: "工单查询",
  },
  en: {
    title: "Case search",
    heading: "Case search",
    total: "{n} in all",
    more: "Load more",
    none: "No case matches.",
    overdue: "Overdue",
    due: "due {when}",
    received: "received {when}",
    q: "Search",
    qHint: "Text, address, tracking code or #id",
    search: "Search",
    reset: "Clear",
    filters: "Filters",
    phone: "Requester's phone",
    state: "State",
    open: "Open (in hand)",
    category: "Category",
    department: "Department",
    community: "Community",
    overdueFilter: "Overdue",
    overdueYes: "Overdue",
    overdueNo: "Not overdue",
    source: "Source",
    received_from: "Received since",
    received_to: "Received until",
    due_from: "Due since",
    due_to: "Due until",
    any: "Any",
    order: "Sort",
    "order_-received_at": "Received (newest first)",
    order_received_at: "Received (oldest first)",
    order_due_at: "Deadline (soonest first)",
    "order_-due_at": "Deadline (latest first)",
    "order_-id": "Number (highest first)",
    order_id: "Number (lowest first)",
    export: "Export XLSX",
    exporting: "Exporting…",
    exported: "Downloaded {file}",
    fileStem: "case-search",
  },
};

const PAGE_SIZE = 30;
const STATES = ["received", "dispatched", "accepted", "returned", "reopened", "resolved", "callback", "closed", "linked"];
const SOURCES = ["12345", "open311", "web", "api", "iot", "vital_sign", "systemic"];
const ORDERS = ["-received_at", "received_at", "due_at", "-due_at", "-id", "id"];
// The page's search in its URL (dates as local days) → the API's parameters.
const TEXT_KEYS = ["q", "phone", "state", "category", "department", "community", "overdue", "source"];
// (Built, not written out: the import check takes a quote right after the word for an import.)
const DAY_KEYS = ["received", "due"].flatMap((k) => [`${k}_from`, `${k}_to`]);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** "+08:00": the town's offset from UTC on a day (the town's zone, not the browser's). */
function offsetOn(day, timeZone) {
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(new Date(`${day}T12:00:00Z`));
    const name = parts.find((p) => p.type === "timeZoneName")?.value || "GMT";
    return name === "GMT" ? "+00:00" : name.slice(3);
  } catch {
    return "+08:00";
  }
}

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The search as the URL holds it: only known keys, well-formed values. */
function searchOf(url) {
  const p = url.searchParams;
  const search = {};
  for (const key of TEXT_KEYS) if (p.get(key)) search[key] = p.get(key).slice(0, 100);
  for (const key of DAY_KEYS) if (DAY.test(p.get(key) || "")) search[key] = p.get(key);
  if (ORDERS.includes(p.get("order"))) search.order = p.get("order");
  return search;
}

/** The API's query for a search: local days become instants (the "to" day included). */
function apiQuery(search, timeZone) {
  const query = {};
  for (const key of ["q", "phone", "category", "department", "community", "source", "order"]) {
    if (search[key]) query[key] = search[key];
  }
  if (search.state === "open") query.open = true;
  else if (search.state) query.state = search.state;
  if (search.overdue === "true" || search.overdue === "false") query.overdue = search.overdue;
  for (const key of DAY_KEYS) {
    const day = search[key];
    if (!day) continue;
    const at = key.endsWith("_to") ? nextDay(day) : day;
    query[key] = `${at}T00:00:00${offsetOn(at, timeZone)}`;
  }
  return query;
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) params.append(key, value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

const byName = (items) => [...items].sort((a, b) => pick(a).localeCompare(pick(b), lang() === "zh" ? "zh-CN" : "en"));

async function render({ main, t, fmt, me, config, url, setTitle }) {
  await useStyle("../../css/case.css", import.meta.url);
  setTitle(t("title"));
  const timeZone = config?.timezone || "Asia/Shanghai";
  const { categories, departments, places } = await loadReference();
  const mayPhone = Boolean(me?.may_search_phone);

  const options = (entries, anyLabel) => [
    h("option", { value: "" }, anyLabel ?? t("any")),
    ...entries.map(([value, text]) => h("option", { value }, text)),
  ];
  const select = (name, entries, anyLabel) =>
    h("select", { name, id: `cs-${name}`, "data-testid": `filter-${name}` }, ...options(entries, anyLabel));
  const field = (name, text, control) => h("label", { class: "field", for: `cs-${name}` }, h("span", {}, text), control);
  const dayInput = (name) => h("input", { type: "date", name, id: `cs-${name}`, "data-testid": `filter-${name}` });

  const qInput = h("input", {
    type: "search", name: "q", id: "cs-q", maxlength: 100, placeholder: t("qHint"),
    "aria-label": t("q"), "data-testid": "search-q", autocomplete: "off",
  });
  const phoneInput = mayPhone
    ? h("input", { type: "tel", name: "phone", id: "cs-phone", maxlength: 40, "data-testid": "filter-phone", autocomplete: "off" })
    : null;
  const communities = byName([...places.values()].filter((p) => p.level === "community"));
  const filters = h("div", { class: "search-filters", id: "cs-filters", "data-testid": "search-filters" },
    phoneInput ? field("phone", t("phone"), phoneInput) : null,
    field("state", t("state"), select("state", [["open", t("open")], ...STATES.map((s) => [s, label("state", s)])])),
    field("category", t("category"), select("category", byName(categories.values()).map((c) => [c.code, pick(c)]))),
    field("department", t("department"), select("department", byName(departments.values()).map((d) => [d.code, pick(d)]))),
    field("community", t("community"), select("community", communities.map((c) => [c.code, pick(c)]))),
    field("overdue", t("overdueFilter"), select("overdue", [["true", t("overdueYes")], ["false", t("overdueNo")]])),
    field("source", t("source"), select("source", SOURCES.map((s) => [s, label("source", s)]))),
    ...DAY_KEYS.map((key) => field(key, t(key), dayInput(key))));
  const toggle = h("button", {
    type: "button", class: "filters-toggle", "aria-expanded": "false", "aria-controls": "cs-filters",
    "data-testid": "filters-toggle",
  }, t("filters"));
  const orderSelect = h("select", { name: "order", id: "cs-order", "data-testid": "order" },
    ...ORDERS.map((o) => h("option", { value: o }, t(`order_${o}`))));
  const form = h("form", { class: "case-search", role: "search", "data-testid": "search-form" },
    h("div", { class: "search-line" },
      qInput,
      h("button", { type: "submit", class: "primary", "data-testid": "search-submit" }, t("search")),
      h("button", { type: "reset", "data-testid": "search-reset" }, t("reset")),
      toggle),
    filters);

  const total = h("span", { class: "total", "data-testid": "case-total", role: "status" });
  const exportButton = h("button", { type: "button", class: "export", "data-testid": "export" }, t("export"));
  const exportState = h("span", { class: "export-state", role: "status", "data-testid": "export-state" });
  const list = h("ol", { class: "case-list", "data-testid": "case-list" });
  const more = h("button", { type: "button", class: "more", "data-testid": "more", hidden: true }, t("more"));
  const errorSlot = h("div");
  replaceChildren(main, h("section", { class: "home" },
    h("div", { class: "page-head" }, h("h1", {}, t("heading"))),
    form,
    h("div", { class: "result-head" },
      total,
      h("label", { class: "order", for: "cs-order" }, h("span", {}, t("order")), orderSelect),
      exportButton, exportState),
    errorSlot, list, more));

  function row(c) {
    const category = categories.get(c.category);
    const where = [places.get(c.assignee_community || c.community), departments.get(c.department)]
      .filter(Boolean).map((x) => pick(x)).join(" · ");
    return h("li", { class: ["case-row", c.overdue && "overdue"], "data-case-id": c.id },
      h("a", { href: `/cases/${c.id}` },
        h("div", { class: "row-head" },
          h("span", { class: "id" }, `#${c.id}`),
          stateBadge(c.state),
          c.overdue ? h("span", { class: "badge overdue" }, t("overdue")) : null,
          h("span", { class: "category" }, category ? pick(category) : label("category", c.category)),
          h("span", { class: "token", "data-testid": "case-token" }, c.token),
          h("span", { class: "kind" }, label("kind", c.kind))),
        h("div", { class: "content" }, c.content.length > 80 ? `${c.content.slice(0, 79)}…` : c.content),
        h("div", { class: "meta" },
          where ? h("span", {}, where) : null,
          c.address ? h("span", {}, c.address) : null,
          h("span", {}, t("received", { when: fmt.dateTime(c.received_at) })),
          h("span", {}, t("due", { when: fmt.dateTime(c.due_at) })))));
  }

  let search = {};
  const query = {};
  const load = casePager({
    query,
    pageSize: PAGE_SIZE,
    list,
    more,
    errorSlot,
    row,
    empty: () => h("li", { class: "empty" }, t("none")),
    onFirstPage: (data) => {
      total.textContent = t("total", { n: fmt.number(data.total ?? data.items.length) });
    },
  });

  /** The form shows `search`; the list is searched for it. */
  async function run(next) {
    search = next;
    for (const el of form.elements) {
      if (el.name && el.name in next) el.value = next[el.name];
      else if (el.name) el.value = "";
    }
    orderSelect.value = search.order || ORDERS[0];
    if (Object.keys(search).some((k) => k !== "q" && k !== "order")) open(true);
    for (const key of Object.keys(query)) delete query[key];
    Object.assign(query, apiQuery(search, timeZone));
    replaceChildren(exportState);
    total.textContent = "";
    await load({ reset: true });
  }

  function fromForm() {
    const next = {};
    for (const el of form.elements) {
      const value = el.name ? el.value.trim() : "";
      if (value) next[el.name] = value;
    }
    if (orderSelect.value !== ORDERS[0]) next.order = orderSelect.value;
    return next;
  }

  function go(next) {
    const address = `${location.pathname}${queryString(next)}`;
    if (address !== location.pathname + location.search) history.pushState(null, "", address);
    return run(next);
  }

  function open(yes) {
    form.classList.toggle("open", yes);
    toggle.setAttribute("aria-expanded", String(yes));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(fromForm());
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    go({});
  });
  // A picked filter searches at once; typing waits for Enter or the button.
  filters.addEventListener("change", () => go(fromForm()));
  orderSelect.addEventListener("change", () => go(fromForm()));
  toggle.addEventListener("click", () => open(!form.classList.contains("open")));
  window.addEventListener("popstate", () => run(searchOf(new URL(location.href))));

  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    exportState.textContent = t("exporting");
    const stamp = new Date().toISOString().slice(0, 10);
    const file = `${t("fileStem")}-${stamp}.xlsx`;
    try {
      await download(`/api/v1/cases/export.xlsx${queryString(query)}`, file);
      exportState.textContent = t("exported", { file });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) replaceChildren(exportState, errorBox(error));
    } finally {
      exportButton.disabled = false;
    }
  });

  await run(searchOf(url));
}

export default { messages, render };
