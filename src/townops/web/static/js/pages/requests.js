// 我的诉求: a resident's home. Their own requests, newest first (GET /api/v1/cases gives a
// resident only theirs), each in plain words with its tracking code and deadline, the
// answer once there is one, photos when opened, and the rating once it is answered. A
// category that is only the classifier's unconfirmed guess shows as 待分类 (being routed):
// GET /api/v1/web/category-pending says which, for the requests still waiting for a
// dispatcher.

import { api } from "../core/api.js";
import { loadReference } from "../core/reference.js";
import { runAction } from "../core/actions.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { casePager } from "../core/pager.js";
import { errorBox } from "../core/shell.js";
import { progressMessages, progressSteps } from "./track.js";

const messages = {
  zh: {
    ...progressMessages.zh,
    title: "我的诉求",
    newRequest: "我要反映",
    total: "共 {n} 件",
    none: "您还没有反映过问题。",
    more: "加载更多",
    code: "查询码",
    received: "{when} 反映",
    due: "承诺 {when} 前办结",
    overdue: "已超过承诺时间",
    reply: "答复",
    yourRating: "您的评价：{rating}",
    details: "查看详情",
    hideDetails: "收起详情",
    address: "地址",
    photos: "照片",
    noPhotos: "没有照片",
    fullRecord: "办理记录",
    rateTitle: "对办理结果满意吗？",
    comment: "补充意见（可选）",
    submitRating: "提交评价",
    chooseRating: "请选择一项评价。",
    thanks: "感谢您的评价。",
    reopenedNote: "已转为重新办理，承办单位会再次联系您。",
    loading: "正在加载…",
    pendingCategory: "待分类",
    pendingHint: "系统正在为您的诉求确定类别和承办单位",
  },
  en: {
    ...progressMessages.en,
    title: "My requests",
    newRequest: "New request",
    total: "{n} in all",
    none: "You have not sent a request yet.",
    more: "Load more",
    code: "Tracking code",
    received: "sent {when}",
    due: "promised by {when}",
    overdue: "Past the promised time",
    reply: "Answer",
    yourRating: "Your rating: {rating}",
    details: "Details",
    hideDetails: "Hide details",
    address: "Address",
    photos: "Photos",
    noPhotos: "No photos",
    fullRecord: "Full record",
    rateTitle: "Are you satisfied with the result?",
    comment: "Anything to add (optional)",
    submitRating: "Send rating",
    chooseRating: "Please choose a rating.",
    thanks: "Thank you for your rating.",
    reopenedNote: "It will be handled again; the unit will contact you.",
    loading: "Loading…",
    pendingCategory: "Being routed",
    pendingHint: "The category and the unit in charge are being decided",
  },
};

const PAGE_SIZE = 20;
const RATINGS = ["satisfied", "basically_satisfied", "dissatisfied"];

async function loadPhotoStrip() {
  try {
    return (await import("../core/photos.js")).photoStrip;
  } catch {
    return null; // no photos module yet: the details show without photos
  }
}

async function render({ main, t, fmt, setTitle }) {
  await useStyle("../../css/resident.css", import.meta.url);
  setTitle(t("title"));
  const list = h("ol", { class: "request-list", "data-testid": "request-list" });
  const total = h("span", { class: "total", "data-testid": "request-total" });
  const more = h("button", { type: "button", class: "more", "data-testid": "more", hidden: true }, t("more"));
  const errorSlot = h("div");
  replaceChildren(main, h("section", { class: "resident requests" },
    h("div", { class: "page-head" },
      h("h1", {}, t("title")), total,
      h("a", { class: "button primary new-request", href: "/submit", "data-testid": "new-request" }, t("newRequest"))),
    errorSlot, list, more));

  // List items carry the category's code only: its names come from the reference.
  const { categories } = await loadReference();
  const categoryName = (c) => pick(c, "category_name") || pick(categories.get(c.category)) || c.category;
  // Requests whose category is still the classifier's unconfirmed guess (not told as fact).
  const pending = new Set();
  async function askPending(items) {
    const waiting = items.filter((c) => c.state === "received").map((c) => c.id);
    if (!waiting.length) return;
    const answer = await api("/api/v1/web/category-pending", { query: { case: waiting } })
      .catch(() => ({ pending: waiting })); // unsure: do not state a guess as fact
    for (const id of answer.pending) pending.add(id);
  }

  function ratingForm(c, onRated) {
    const problem = h("p", { class: "field-error", role: "alert" });
    const comment = h("textarea", { name: "comment", rows: "2", maxlength: "1000" });
    const submit = h("button", { type: "submit", class: "primary", "data-testid": "rating-submit" }, t("submitRating"));
    const form = h("form", { class: "rating-form", "data-testid": "rating-form", novalidate: true },
      h("fieldset", { class: "rating-choices" },
        h("legend", {}, t("rateTitle")),
        RATINGS.map((r) => h("label", { class: ["choice", `rating-${r}`] },
          h("input", { type: "radio", name: "rating", value: r }), h("span", {}, label("rating", r))))),
      h("label", { class: "field" }, h("span", {}, t("comment")), comment),
      h("div", { class: "form-buttons" }, submit),
      problem);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const rating = new FormData(form).get("rating");
      if (!rating) {
        problem.textContent = t("chooseRating");
        return;
      }
      submit.disabled = true;
      problem.textContent = "";
      try {
        const fields = { rating };
        if (comment.value.trim()) fields.comment = comment.value.trim();
        onRated(await runAction(c, "callback", fields), rating);
      } catch (error) {
        if (error?.status === 401) return;
        replaceChildren(problem, errorBox(error));
        submit.disabled = false;
      }
    });
    return form;
  }

  function details(c) {
    const body = h("div", { class: "request-details", "data-testid": "request-details" }, t("loading"));
    const toggle = h("button", { type: "button", class: "link details-toggle", "aria-expanded": "false", "data-testid": "details-toggle" }, t("details"));
    let loaded = false;
    body.hidden = true;
    toggle.addEventListener("click", async () => {
      const open = body.hidden;
      body.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? t("hideDetails") : t("details");
      if (!open || loaded) return;
      loaded = true;
      try {
        const [full, photoStrip] = await Promise.all([api(`/api/v1/cases/${c.id}`), loadPhotoStrip()]);
        const strip = photoStrip && full.photos?.length ? photoStrip(full.photos) : null;
        replaceChildren(body,
          h("p", { class: "content" }, full.content),
          full.address ? h("p", { class: "address" }, h("span", { class: "muted" }, `${t("address")}：`), full.address) : null,
          h("div", { class: "photos", "data-testid": "request-photos" },
            strip || h("span", { class: "muted" }, t("noPhotos"))),
          h("a", { href: `/cases/${c.id}` }, t("fullRecord")));
      } catch (error) {
        loaded = false;
        if (error?.status !== 401) replaceChildren(body, errorBox(error));
      }
    });
    return [toggle, body];
  }

  function item(c, note) {
    const li = h("li", {
      class: ["request", "card", c.overdue && "overdue"],
      "data-case-id": c.id,
      "data-state": c.state,
    });
    const replaced = (updated, rating) => {
      const notice = updated.state === "reopened" ? t("reopenedNote") : t("thanks");
      li.replaceWith(item({ ...updated, rating: updated.rating || rating }, notice));
    };
    const [toggle, body] = details(c);
    const answered = ["resolved", "callback", "closed"].includes(c.state) || c.reply;
    replaceChildren(li,
      h("div", { class: "request-head" },
        pending.has(c.id) && c.state === "received"
          ? h("h2", { class: "category pending", "data-testid": "request-category", "data-pending": "1", title: t("pendingHint") }, t("pendingCategory"))
          : h("h2", { class: "category", "data-testid": "request-category" }, categoryName(c)),
        h("span", { class: ["plain-state", `state-${c.state}`], "data-testid": "plain-state" }, t(`plain_${c.state}`))),
      progressSteps(c.state, t),
      h("p", { class: "excerpt" }, c.content.length > 90 ? `${c.content.slice(0, 89)}…` : c.content),
      h("div", { class: "meta" },
        h("span", { class: "code-line" }, `${t("code")} `, h("strong", { class: "code", "data-testid": "request-code" }, c.token)),
        h("span", {}, t("received", { when: fmt.dateTime(c.received_at) })),
        answered ? null : h("span", {}, t("due", { when: fmt.dateTime(c.due_at) })),
        c.overdue ? h("span", { class: "badge overdue" }, t("overdue")) : null),
      answered && c.reply
        ? h("div", { class: "reply", "data-testid": "reply" }, h("strong", {}, t("reply")), h("p", {}, c.reply))
        : null,
      c.rating ? h("p", { class: "your-rating", "data-testid": "your-rating", "data-rating": c.rating }, t("yourRating", { rating: label("rating", c.rating) })) : null,
      note ? h("p", { class: "flash", "data-testid": "flash", role: "status" }, note) : null,
      c.allowed_actions.includes("callback") ? ratingForm(c, replaced) : null,
      h("div", { class: "request-foot" }, toggle),
      body);
    return li;
  }

  const load = casePager({
    query: { order: "-received_at" },
    pageSize: PAGE_SIZE,
    list,
    more,
    errorSlot,
    row: item,
    prepare: askPending,
    empty: () => h("li", { class: "empty card" }, t("none"), " ", h("a", { href: "/submit" }, t("newRequest"))),
    onFirstPage: (data) => {
      total.textContent = t("total", { n: fmt.number(data.total ?? data.items.length) });
    },
  });
  await load();
}

export default { messages, render };
