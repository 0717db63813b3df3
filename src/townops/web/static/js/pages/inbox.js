// 待办: the cases the caller's own unit holds (a department, a community), by deadline, in
// sections — to accept, in hand, overdue (and, for community staff and grid workers, the
// other open cases of their area, read-only). Each case shows once: an overdue case is in
// the overdue section only (with its state), the other two hold the cases still on time. Each row carries the actions a handler takes
// most: accept and first contact in one click; return, extension and resolve in a small form.
//
// Phone: one section at a time under a tab bar. Desktop and wall: every section is a column.

import { api } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { loadReference } from "../core/reference.js";
import { pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { actionForm, runAction } from "../core/actions.js";
import { casePager } from "../core/pager.js";
import { errorBox, stateBadge } from "../core/shell.js";

const messages = {
  zh: {
    title: "待办",
    heading: "我的待办",
    admin: "管理员：显示全镇各单位持有的工单",
    section_accept: "待签收",
    section_hand: "办理中",
    section_overdue: "已超期",
    section_area: "辖区工单",
    areaHint: "辖区内全部未结工单（只读）",
    empty_accept: "没有待签收的工单。",
    empty_hand: "没有办理中的工单。",
    empty_overdue: "没有超期的工单。",
    empty_area: "辖区内没有未结工单。",
    more: "加载更多",
    left: "剩余 {d}",
    late: "超期 {d}",
    dueAt: "期限 {when}",
    firstContactDue: "先行联系 {when} 前",
    firstContactLate: "先行联系已超时",
    extensionPending: "延期审批中",
    holder: "承办：{name}",
    masked: "（已脱敏）",
    call: "拨打 {phone}",
    done: "#{id} {action}完成",
    refreshed: "已刷新",
    reload: "刷新",
  },
  en: {
    title: "Inbox",
    heading: "My inbox",
    admin: "Administrator: the cases every unit of the town holds",
    section_accept: "To accept",
    section_hand: "In hand",
    section_overdue: "Overdue",
    section_area: "My area",
    areaHint: "Every open case of your area (read-only)",
    empty_accept: "Nothing to accept.",
    empty_hand: "Nothing in hand.",
    empty_overdue: "Nothing overdue.",
    empty_area: "No open cases in your area.",
    more: "Load more",
    left: "{d} left",
    late: "overdue by {d}",
    dueAt: "due {when}",
    firstContactDue: "first contact by {when}",
    firstContactLate: "first contact late",
    extensionPending: "extension pending",
    holder: "held by {name}",
    masked: "(masked)",
    call: "Call {phone}",
    done: "#{id}: {action} done",
    refreshed: "Refreshed",
    reload: "Refresh",
  },
};

const PAGE_SIZE = 20;
const DAY = 86400;
const ONE_CLICK = ["accept", "first_contact"];
const WITH_FORM = ["return", "request_extension", "resolve"];

/** The sections a role sees, each with the case-list query that fills it. */
function sectionsFor(role) {
  // An administrator holds no unit of its own: `mine` would always be empty.
  const mine = role === "admin" ? {} : { mine: true };
  const sections = [
    // On time only: an overdue case belongs to the overdue section (one card per case).
    { key: "accept", query: { ...mine, state: "dispatched", overdue: false, order: "due_at" } },
    { key: "hand", query: { ...mine, state: ["accepted", "reopened"], overdue: false, order: "due_at" } },
    { key: "overdue", query: { ...mine, overdue: true, order: "due_at" }, showState: true },
  ];
  if (role === "community_staff" || role === "grid_worker") {
    sections.push({ key: "area", query: { open: true, mine: false, order: "due_at" }, readOnly: true });
  }
  return sections;
}

async function render({ main, t, fmt, me, setTitle }) {
  await Promise.all([
    useStyle("../../css/case.css", import.meta.url), // the action forms' styles
    useStyle("../../css/inbox.css", import.meta.url),
  ]);
  setTitle(t("title"));
  const { raw: reference, categories, departments, places } = await loadReference();
  const nameOf = (map, code) => (code && map.get(code) ? pick(map.get(code)) : "");

  const sections = sectionsFor(me?.role).map((s) => ({
    ...s,
    list: h("ol", { class: "inbox-list", "data-testid": `list-${s.key}` }),
    count: h("span", { class: "count", "data-testid": `count-${s.key}` }, "…"),
    tabCount: h("span", { class: "count" }, "…"),
    more: h("button", { type: "button", class: "more", hidden: true }, t("more")),
    error: h("div"),
  }));
  let active = sections[0].key;
  let pendingExtensions = new Set();

  const flash = h("p", { class: "flash", role: "status", "data-testid": "flash" });
  const tabs = h("div", { class: "inbox-tabs", role: "tablist", "data-testid": "inbox-tabs" },
    sections.map((s) => h("button", {
      type: "button",
      role: "tab",
      id: `tab-${s.key}`,
      "data-section": s.key,
      "aria-controls": `section-${s.key}`,
      onclick: () => choose(s.key),
    }, h("span", {}, t(`section_${s.key}`)), s.tabCount)));
  const board = h("div", { class: ["inbox-board", `sections-${sections.length}`] },
    sections.map((s) => {
      s.load = casePager({
        query: s.query,
        pageSize: PAGE_SIZE,
        list: s.list,
        more: s.more,
        errorSlot: s.error,
        row: (c) => row(c, s),
        empty: () => h("li", { class: "empty" }, t(`empty_${s.key}`)),
        onFirstPage: (data) => {
          const n = fmt.number(data.total ?? data.items.length);
          s.count.textContent = n;
          s.tabCount.textContent = n;
        },
      });
      s.element = h("section", {
        class: ["inbox-section", `section-${s.key}`],
        id: `section-${s.key}`,
        role: "tabpanel",
        "aria-labelledby": `tab-${s.key}`,
        "data-testid": `section-${s.key}`,
        "data-section": s.key,
      },
      h("h2", { class: "section-head" }, h("span", {}, t(`section_${s.key}`)), s.count),
      s.readOnly ? h("p", { class: "hint" }, t("areaHint")) : null,
      s.error, s.list, s.more);
      return s.element;
    }));
  replaceChildren(main, h("div", { class: "inbox", "data-testid": "inbox" },
    h("div", { class: "page-head" },
      h("h1", {}, t("heading")),
      me?.role === "admin" ? h("span", { class: "muted" }, t("admin")) : null,
      h("button", { type: "button", class: "refresh", "data-testid": "refresh", onclick: () => reloadAll(t("refreshed")) }, t("reload"))),
    flash, tabs, board));

  function choose(key) {
    active = key;
    for (const tab of tabs.querySelectorAll("[role=tab]")) {
      const on = tab.dataset.section === key;
      tab.setAttribute("aria-selected", String(on));
      tab.classList.toggle("active", on);
    }
    for (const s of sections) s.element.classList.toggle("active", s.key === key);
  }

  function countdown(c) {
    const seconds = Math.round((Date.parse(c.due_at) - Date.now()) / 1000);
    const late = seconds < 0;
    const soon = !late && seconds < DAY;
    return h("span", {
      class: ["countdown", late && "late", soon && "soon"],
      "data-testid": "countdown",
      "data-due": c.due_at,
      title: t("dueAt", { when: fmt.dateTime(c.due_at) }),
    }, late ? t("late", { d: fmt.duration(seconds) }) : t("left", { d: fmt.duration(seconds) }));
  }

  function requester(c) {
    const { name, phone, masked } = c.requester || {};
    if (!name && !phone) return null;
    const text = [name, phone].filter(Boolean).join(" ");
    if (masked || !phone) return h("span", { class: "requester" }, text, masked ? ` ${t("masked")}` : "");
    // Only a number the API gave in full can be dialled.
    return h("a", { class: "requester tel", href: `tel:${phone}`, title: t("call", { phone }) }, text);
  }

  function firstContact(c) {
    if (!c.first_contact_due_at || c.first_contact_at) return null;
    if (c.first_contact_overdue) return h("span", { class: "badge late", "data-testid": "first-contact" }, t("firstContactLate"));
    return h("span", { class: "badge contact", "data-testid": "first-contact" }, t("firstContactDue", { when: fmt.when(c.first_contact_due_at) }));
  }

  function short(text, n = 70) {
    return text.length > n ? `${text.slice(0, n - 1)}…` : text;
  }

  function row(c, section) {
    const category = pick(c, "category_name") || nameOf(categories, c.category) || c.category;
    const place = c.address || nameOf(places, c.jurisdiction) || nameOf(places, c.community);
    const holder = nameOf(departments, c.department) || nameOf(places, c.assignee_community);
    const formSlot = h("div", { class: "row-form" });
    const li = h("li", {
      class: ["inbox-row", c.overdue && "overdue"],
      "data-case-id": c.id,
      "data-state": c.state,
      "data-version": c.version,
    },
    h("div", { class: "row-top" },
      h("a", { class: "id", href: `/cases/${c.id}` }, `#${c.id}`),
      h("span", { class: "category" }, category),
      countdown(c)),
    h("a", { class: "content", href: `/cases/${c.id}` }, short(c.content)),
    h("div", { class: "meta" },
      section.readOnly || section.showState ? stateBadge(c.state) : null,
      place ? h("span", { class: "place" }, place) : null,
      section.readOnly && holder ? h("span", {}, t("holder", { name: holder })) : null,
      requester(c),
      section.readOnly ? null : firstContact(c),
      pendingExtensions.has(c.id) ? h("span", { class: "badge pending", "data-testid": "extension-pending" }, t("extensionPending")) : null),
    section.readOnly ? null : rowActions(c, formSlot),
    formSlot);
    return li;
  }

  function rowActions(c, formSlot) {
    const allowed = new Set(c.allowed_actions || []);
    // First contact is due once; after it is made the button would only fail.
    if (!c.first_contact_due_at || c.first_contact_at) allowed.delete("first_contact");
    const buttons = [];
    for (const action of ONE_CLICK) {
      if (!allowed.has(action)) continue;
      buttons.push(h("button", {
        type: "button",
        class: action === "accept" ? "primary" : null,
        "data-action": action,
        onclick: (event) => oneClick(c, action, event.currentTarget, formSlot),
      }, label("action", action)));
    }
    for (const action of WITH_FORM) {
      if (!allowed.has(action)) continue;
      buttons.push(h("button", {
        type: "button",
        "data-action": action,
        "aria-expanded": "false",
        onclick: (event) => toggleForm(c, action, event.currentTarget, formSlot),
      }, label("action", action)));
    }
    return buttons.length ? h("div", { class: "row-actions" }, buttons) : null;
  }

  async function oneClick(c, action, button, formSlot) {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await runAction(c, action);
      await reloadAll(t("done", { id: c.id, action: label("action", action) }));
    } catch (error) {
      if (error?.status === 401) return;
      button.disabled = false;
      replaceChildren(formSlot, errorBox(error, () => reloadAll()));
    }
  }

  function toggleForm(c, action, button, formSlot) {
    const row = button.closest(".inbox-row");
    const open = button.getAttribute("aria-expanded") === "true";
    for (const b of row.querySelectorAll(".row-actions button")) {
      b.setAttribute("aria-expanded", "false");
      b.classList.remove("active");
    }
    if (open) {
      replaceChildren(formSlot);
      return;
    }
    button.setAttribute("aria-expanded", "true");
    button.classList.add("active");
    const form = actionForm({
      c,
      action,
      reference,
      me,
      onDone: (updated) => reloadAll(updated ? t("done", { id: c.id, action: label("action", action) }) : ""),
      onCancel: () => toggleForm(c, action, button, formSlot),
    });
    replaceChildren(formSlot, form);
    form.querySelector("select, input:not([type=hidden]), textarea")?.focus();
  }

  // The pending extensions of the caller's cases: the list rows do not carry them.
  async function loadPendingExtensions() {
    const query = { extension: "pending", open: true, page_size: 100 };
    if (me?.role !== "admin") query.mine = true;
    const data = await api("/api/v1/cases", { query }).catch(() => ({ items: [] }));
    pendingExtensions = new Set(data.items.map((c) => c.id));
  }

  async function reloadAll(message) {
    // All at once: the rows wait only for the extension marks, not for each other.
    const ready = loadPendingExtensions();
    // Page 1 again; the rows wait for the extension marks before they are drawn.
    await Promise.all(sections.map((s) => s.load({ reset: true, ready })));
    if (message !== undefined) flash.textContent = message;
  }

  // Deadlines move on while the page stays open (a wall screen stays all day).
  const ticker = setInterval(() => {
    for (const el of main.querySelectorAll("[data-testid=countdown]")) {
      const fresh = countdown({ due_at: el.dataset.due });
      el.replaceWith(fresh);
    }
  }, 60_000);
  // Keep the lists current too: other people dispatch to this unit all day.
  const refresher = setInterval(() => {
    if (!main.querySelector(".row-form form")) reloadAll();
  }, 5 * 60_000);

  choose(active);
  await reloadAll();
  // The tab with work in it first, on a phone: nothing to accept → in hand.
  const first = sections.find((s) => s.count.textContent !== "0");
  if (first) choose(first.key);
  return () => {
    clearInterval(ticker);
    clearInterval(refresher);
  };
}

export default { messages, render };
