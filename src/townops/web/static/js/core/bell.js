// The bell (通知) in the header: the caller's unread in-app messages (站内信) as a badge,
// polled every 30 s while the tab is visible and again whenever it becomes visible; a click
// opens a small panel with the latest ten (a full-width sheet on a phone). Opening one
// marks it read and goes to its case. GET /api/v1/notifications, POST …/{id}/read, …/read.

import { api } from "./api.js";
import { h, replaceChildren, s } from "./dom.js";
import { makeFormat } from "./format.js";
import { pick, translator } from "./i18n.js";
import { isLoggedIn } from "./session.js";

const POLL_MS = 30_000;
const LATEST = 10;
/** Sent on `document` with {detail: {unread}} when the count changes (the page listens too). */
export const UNREAD_EVENT = "townops:unread";

const t = translator({
  zh: {
    bell: "通知",
    bellUnread: "通知，{n} 条未读",
    title: "通知",
    markAll: "全部已读",
    all: "查看全部",
    none: "暂无通知。",
    loading: "正在加载…",
    failed: "通知加载失败。",
    unread: "未读",
  },
  en: {
    bell: "Notifications",
    bellUnread: "Notifications, {n} unread",
    title: "Notifications",
    markAll: "Mark all read",
    all: "All notifications",
    none: "No notifications yet.",
    loading: "Loading…",
    failed: "Could not load the notifications.",
    unread: "Unread",
  },
});

/** Where a message leads: its case, or the list of all messages. */
export function notificationHref(item) {
  return item.case_id ? `/cases/${item.case_id}` : "/notifications";
}

/** Mark one message read (or all: `id` null) → the API's {marked}. */
export function markRead(id) {
  const path = id == null ? "/api/v1/notifications/read" : `/api/v1/notifications/${id}/read`;
  return api(path, { method: "POST" });
}

/** Tell the bell (and anyone listening) the new unread count. */
export function announceUnread(unread) {
  document.dispatchEvent(new CustomEvent(UNREAD_EVENT, { detail: { unread } }));
}

/** Follow a message's link once it is marked read (a plain click; new tabs just mark it). */
export function openOnClick(item, onMarked = () => {}) {
  return async (event) => {
    if (item.read) return;
    const plain = event.button === 0 && !(event.metaKey || event.ctrlKey || event.shiftKey || event.altKey);
    const marking = markRead(item.id).then(() => {
      item.read = true;
      onMarked(item);
    }).catch(() => {}); // not marked: it stays unread, the link still goes
    if (!plain) return;
    event.preventDefault();
    const href = event.currentTarget.getAttribute("href");
    await Promise.race([marking, new Promise((resolve) => setTimeout(resolve, 1500))]);
    location.assign(href);
  };
}

const BELL_ICON = "M12 2a1 1 0 0 1 1 1v1.07A7 7 0 0 1 19 11v4.59l1.7 1.7A1 1 0 0 1 20 19H4a1 1 0 0 1-.7-1.7L5 15.58V11a7 7 0 0 1 6-6.93V3a1 1 0 0 1 1-1Zm-2 18h4a2 2 0 0 1-4 0Z";

function icon() {
  return s("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" }, s("path", { d: BELL_ICON }));
}

/** The bell for the header; `timeZone` is the town's. Starts polling at once. */
export function bell({ timeZone } = {}) {
  const fmt = makeFormat(timeZone);
  let unread = 0;
  let timer = null;
  let open = false;

  const badge = h("span", { class: "bell-badge", "data-testid": "bell-count", hidden: true });
  const button = h("button", {
    type: "button",
    class: "bell-button",
    "data-testid": "bell",
    "aria-expanded": "false",
    "aria-controls": "bell-panel",
    "aria-label": t("bell"),
    title: t("bell"),
  }, icon(), badge);
  const list = h("ul", { class: "bell-list", "data-testid": "bell-list" });
  const markAll = h("button", { type: "button", class: "link", "data-testid": "bell-mark-all", disabled: true }, t("markAll"));
  const panel = h("section", {
    id: "bell-panel",
    class: "bell-panel",
    role: "region",
    "aria-labelledby": "bell-panel-title",
    "data-testid": "bell-panel",
    hidden: true,
  },
  h("div", { class: "bell-head" }, h("h2", { id: "bell-panel-title" }, t("title")), markAll),
  list,
  h("div", { class: "bell-foot" }, h("a", { href: "/notifications", "data-testid": "bell-all" }, t("all"))));
  const root = h("div", { class: "bell" }, button, panel);

  function show(n) {
    unread = n;
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n === 0;
    button.dataset.unread = String(n);
    const text = n ? t("bellUnread", { n }) : t("bell");
    button.setAttribute("aria-label", text);
    button.title = text;
    button.classList.toggle("has-unread", n > 0);
    markAll.disabled = n === 0;
  }

  document.addEventListener(UNREAD_EVENT, (event) => show(event.detail.unread));

  function row(item) {
    const link = h("a", {
      href: notificationHref(item),
      class: ["bell-item", item.read ? null : "unread"],
      "data-testid": "bell-item",
      "data-id": item.id,
      "data-case-id": item.case_id ?? null,
    },
    item.read ? null : h("span", { class: "dot", title: t("unread") }, h("span", { class: "sr-only" }, t("unread"))),
    h("span", { class: "bell-title" }, pick(item, "title")),
    h("time", { datetime: item.at, class: "bell-time" }, fmt.when(item.at)));
    link.addEventListener("click", openOnClick(item, () => {
      link.classList.remove("unread");
      announceUnread(Math.max(0, unread - 1));
    }));
    return h("li", {}, link);
  }

  async function fetchInbox(limit) {
    const data = await api("/api/v1/notifications", { query: { limit } });
    announceUnread(data.unread);
    return data;
  }

  async function fill() {
    if (!list.firstChild) replaceChildren(list, h("li", { class: "bell-empty" }, t("loading")));
    try {
      const data = await fetchInbox(LATEST);
      replaceChildren(list, data.items.length
        ? data.items.map(row)
        : h("li", { class: "bell-empty", "data-testid": "bell-empty" }, t("none")));
    } catch (error) {
      if (error?.status !== 401) replaceChildren(list, h("li", { class: "bell-empty" }, t("failed")));
    }
  }

  async function poll() {
    if (!isLoggedIn() || document.hidden) return;
    try {
      await fetchInbox(1);
    } catch {
      // Offline for a moment: the next poll tries again.
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = null;
    if (document.hidden) return;
    timer = setInterval(poll, POLL_MS);
  }

  function setOpen(next, { focus = false } = {}) {
    open = next;
    panel.hidden = !next;
    button.setAttribute("aria-expanded", String(next));
    root.classList.toggle("open", next);
    if (next) fill();
    else if (focus) button.focus();
  }

  button.addEventListener("click", () => setOpen(!open));
  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    try {
      await markRead(null);
      announceUnread(0);
      await fill();
    } catch (error) {
      if (error?.status !== 401) markAll.disabled = unread === 0;
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(false, { focus: true });
    }
  });
  document.addEventListener("click", (event) => {
    if (open && !root.contains(event.target)) setOpen(false);
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll();
    schedule();
  });

  show(0);
  poll();
  schedule();
  return root;
}
