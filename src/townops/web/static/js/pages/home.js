// /cases: every case the caller may see, newest first, each linking to its page (the
// roles' own homes are their work pages: the one screen, the dispatch board, the inbox …).

import { loadReference } from "../core/reference.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { casePager } from "../core/pager.js";
import { stateBadge } from "../core/shell.js";

const messages = {
  zh: {
    title: "我的工单",
    heading: "可见工单（最新在前）",
    total: "共 {n} 件",
    more: "加载更多",
    none: "没有可见的工单。",
    overdue: "超期",
    due: "期限 {when}",
    received: "受理于 {when}",
  },
  en: {
    title: "My cases",
    heading: "Cases you can see (newest first)",
    total: "{n} in all",
    more: "Load more",
    none: "No cases to show.",
    overdue: "Overdue",
    due: "due {when}",
    received: "received {when}",
  },
};

const PAGE_SIZE = 30;

async function render({ main, t, fmt, setTitle }) {
  await useStyle("../../css/case.css", import.meta.url);
  setTitle(t("title"));
  const list = h("ol", { class: "case-list", "data-testid": "case-list" });
  const total = h("span", { class: "total", "data-testid": "case-total" });
  const more = h("button", { type: "button", class: "more", "data-testid": "more", hidden: true }, t("more"));
  const errorSlot = h("div");
  replaceChildren(main, h("section", { class: "home" },
    h("div", { class: "page-head" }, h("h1", {}, t("heading")), total),
    errorSlot, list, more));

  const { categories, departments, places } = await loadReference();

  function row(c) {
    const category = categories.get(c.category);
    const where = [places.get(c.community), departments.get(c.department)].filter(Boolean).map((x) => pick(x)).join(" · ");
    return h("li", { class: ["case-row", c.overdue && "overdue"], "data-case-id": c.id },
      h("a", { href: `/cases/${c.id}` },
        h("div", { class: "row-head" },
          h("span", { class: "id" }, `#${c.id}`),
          stateBadge(c.state),
          c.overdue ? h("span", { class: "badge overdue" }, t("overdue")) : null,
          h("span", { class: "category" }, category ? pick(category) : c.category),
          h("span", { class: "kind" }, label("kind", c.kind))),
        h("div", { class: "content" }, c.content.length > 80 ? `${c.content.slice(0, 79)}…` : c.content),
        h("div", { class: "meta" },
          where ? h("span", {}, where) : null,
          h("span", {}, t("received", { when: fmt.dateTime(c.received_at) })),
          h("span", {}, t("due", { when: fmt.dateTime(c.due_at) })))));
  }

  const load = casePager({
    query: {},
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
  await load();
}

export default { messages, render };
