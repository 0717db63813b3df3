// 查询: anyone with a tracking code (查询码) sees where the request stands, without logging
// in. GET /api/v1/track/{code} answers only the state, the category and the dates: the
// page has nothing personal to show. Also exports the resident's words for the engine's
// states (a four-step progress), which "my requests" uses too.

import { h, replaceChildren, useStyle } from "../core/dom.js";
import { pick } from "../core/i18n.js";

// ---------------------------------------------------------------- the resident's words

/** Four steps a resident recognises; every engine state falls on one of them. */
export const STEPS = ["received", "handling", "answered", "done"];

const STEP_OF_STATE = {
  received: "received",
  dispatched: "handling",
  accepted: "handling",
  returned: "handling",
  linked: "handling",
  reopened: "handling",
  resolved: "answered",
  callback: "done",
  closed: "done",
};

export function stepOf(state) {
  return STEP_OF_STATE[state] || "received";
}

/** Messages every page showing progress merges into its own (same keys in zh and en). */
export const progressMessages = {
  zh: {
    step_received: "已受理",
    step_handling: "办理中",
    step_answered: "已答复",
    step_done: "已办结",
    plain_received: "已受理，正在安排承办单位",
    plain_dispatched: "办理中：已交承办单位",
    plain_accepted: "办理中：承办单位正在处理",
    plain_returned: "办理中：正在重新安排承办单位",
    plain_linked: "办理中：与同一问题合并办理",
    plain_reopened: "重新办理中",
    plain_resolved: "已答复，等待您的评价",
    plain_callback: "已评价",
    plain_closed: "已办结",
    progress: "办理进度",
  },
  en: {
    step_received: "Received",
    step_handling: "In hand",
    step_answered: "Answered",
    step_done: "Done",
    plain_received: "Received; a unit to handle it is being chosen",
    plain_dispatched: "In hand: passed to the unit that handles it",
    plain_accepted: "In hand: the unit is working on it",
    plain_returned: "In hand: another unit is being chosen",
    plain_linked: "In hand: handled together with the same problem",
    plain_reopened: "Being handled again",
    plain_resolved: "Answered; waiting for your rating",
    plain_callback: "Rated",
    plain_closed: "Done",
    progress: "Progress",
  },
};

/** The four steps as an ordered list, those reached marked done, the current one marked. */
export function progressSteps(state, t) {
  const at = STEPS.indexOf(stepOf(state));
  const finished = at === STEPS.length - 1; // the last step reached is done, not under way
  return h("ol", { class: "progress-steps", "aria-label": t("progress"), "data-testid": "progress" },
    STEPS.map((step, i) => h("li", {
      class: ["step", (i < at || finished) && "reached", i === at && "current"],
      "data-step": step,
      "aria-current": i === at ? "step" : null,
    }, h("span", { class: "dot" }, String(i + 1)), h("span", { class: "name" }, t(`step_${step}`)))));
}

// ---------------------------------------------------------------- the page

const messages = {
  zh: {
    ...progressMessages.zh,
    title: "查询办理进度",
    lead: "输入反映问题时得到的查询码，无需登录。",
    code: "查询码",
    codeHint: "10位字母和数字，例如 K7MX2P9QRT",
    submit: "查询",
    category: "问题类别",
    received_at: "受理时间",
    due_at: "承诺办结时间",
    resolved_at: "答复时间",
    closed_at: "办结时间",
    overdue: "已超过承诺时间",
    rated: "已评价",
    notRated: "尚未评价",
    rateHint: "登录后可在“我的诉求”中查看答复并评价。",
    login: "登录查看我的诉求",
    notFound: "没有找到这个查询码，请核对后再试。",
    malformed: "查询码是10位字母和数字（不含 I、O、0、1），请核对后再试。",
    tooMany: "查询过于频繁，请 {minutes} 分钟后再试。",
    failed: "查询失败，请稍后再试。",
    empty: "请输入查询码。",
    privacy: "为保护隐私，此处不显示问题内容、地址和联系人。",
  },
  en: {
    ...progressMessages.en,
    title: "Track a request",
    lead: "Enter the tracking code you were given; no log-in needed.",
    code: "Tracking code",
    codeHint: "10 letters and digits, e.g. K7MX2P9QRT",
    submit: "Track",
    category: "Category",
    received_at: "Received",
    due_at: "Promised by",
    resolved_at: "Answered",
    closed_at: "Closed",
    overdue: "Past the promised time",
    rated: "Rated",
    notRated: "Not rated yet",
    rateHint: "Log in to read the answer and rate it under “My requests”.",
    login: "Log in to see my requests",
    notFound: "No request has this code; please check it and try again.",
    malformed: "A tracking code is 10 letters and digits (no I, O, 0 or 1); please check it.",
    tooMany: "Too many look-ups; please try again in {minutes} min.",
    failed: "The look-up failed; please try again later.",
    empty: "Please enter a tracking code.",
    privacy: "For privacy, the text, address and contact of a request are not shown here.",
  },
};

function errorText(t, status, body) {
  if (status === 404) return t("notFound");
  if (status === 422) return t("malformed");
  if (status === 429) {
    const seconds = body?.error?.details?.retry_after_seconds || 600;
    return t("tooMany", { minutes: Math.max(1, Math.ceil(seconds / 60)) });
  }
  return t("failed");
}

async function render({ main, t, fmt, url, setTitle }) {
  await useStyle("../../css/resident.css", import.meta.url);
  setTitle(t("title"));
  const input = h("input", {
    id: "track-code",
    name: "code",
    "data-testid": "track-code",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    maxlength: "24",
    "aria-describedby": "track-code-hint track-problem",
    value: url.searchParams.get("code") || "",
  });
  const problem = h("p", { id: "track-problem", class: "field-error", "data-testid": "track-error", role: "alert" });
  const result = h("div", { class: "track-result-slot" });
  const form = h("form", { class: "card track-form", "data-testid": "track-form", novalidate: true },
    h("label", { for: "track-code", class: "field-label" }, t("code")),
    h("div", { class: "track-row" }, input,
      h("button", { type: "submit", class: "primary", "data-testid": "track-submit" }, t("submit"))),
    h("p", { id: "track-code-hint", class: "hint" }, t("codeHint")),
    problem);

  replaceChildren(main, h("section", { class: "resident track" },
    h("div", { class: "page-head" }, h("h1", {}, t("title"))),
    h("p", { class: "lead" }, t("lead")),
    form, result,
    h("p", { class: "hint privacy" }, t("privacy")),
    h("p", { class: "track-login" }, h("a", { href: "/login?next=/requests" }, t("login")))));

  function show(view) {
    const rows = [
      ["category", pick(view.category, "name")],
      ["received_at", fmt.dateTime(view.received_at)],
      ["due_at", fmt.dateTime(view.due_at)],
      view.resolved_at ? ["resolved_at", fmt.dateTime(view.resolved_at)] : null,
      view.closed_at ? ["closed_at", fmt.dateTime(view.closed_at)] : null,
    ].filter(Boolean);
    const answered = ["resolved", "callback", "closed"].includes(view.state);
    replaceChildren(result, h("article", {
      class: ["card", "track-result", view.overdue && "overdue"],
      "data-testid": "track-result",
      "data-state": view.state,
    },
    h("p", { class: "track-code-shown" }, `${t("code")} `, h("strong", { class: "code" }, view.token)),
    h("h2", { class: ["plain-state", `state-${view.state}`], "data-testid": "plain-state" }, t(`plain_${view.state}`)),
    progressSteps(view.state, t),
    view.overdue ? h("p", { class: "badge overdue", "data-testid": "overdue" }, t("overdue")) : null,
    h("dl", { class: "facts" }, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, value)])),
    answered
      ? h("p", { class: "rated", "data-testid": "rated", "data-rated": String(view.rated) },
        view.rated ? t("rated") : [t("notRated"), " · ", h("a", { href: "/login?next=/requests" }, t("rateHint"))])
      : null));
  }

  async function lookUp() {
    const code = input.value.trim();
    problem.textContent = "";
    input.removeAttribute("aria-invalid");
    if (!code) {
      problem.textContent = t("empty");
      input.setAttribute("aria-invalid", "true");
      replaceChildren(result);
      return;
    }
    const next = new URL(location.href);
    next.searchParams.set("code", code);
    history.replaceState(null, "", next.pathname + next.search);
    let response;
    try {
      response = await fetch(`/api/v1/track/${encodeURIComponent(code)}`, { headers: { Accept: "application/json" } });
    } catch {
      problem.textContent = t("failed");
      return;
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      replaceChildren(result);
      problem.textContent = errorText(t, response.status, body);
      problem.dataset.status = String(response.status);
      input.setAttribute("aria-invalid", "true");
      return;
    }
    show(body);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp();
  });
  if (input.value) await lookUp();
  else input.focus();
}

export default { messages, public: true, render };
