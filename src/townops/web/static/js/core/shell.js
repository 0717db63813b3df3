// The frame around every page: the header (town, navigation, user, language, log-out)
// and small shared pieces (error boxes, state badges).

import { bell } from "./bell.js";
import { h, replaceChildren } from "./dom.js";
import { lang, pick, switchLang, translator } from "./i18n.js";
import { label } from "./labels.js";
import { OVERVIEW_ROLES, PAGE_ROLES, logout } from "./session.js";

const t = translator({
  zh: {
    brand: "一网统管",
    overview: "一屏总览",
    dispatch: "派单台",
    inbox: "待办",
    report: "上报",
    submit: "我要反映",
    requests: "我的诉求",
    rankings: "考核排名",
    home: "工单",
    logout: "退出",
    switch: "English",
    switchTitle: "Switch to English",
    error: "出错了",
    forbidden: "您的角色无权查看此页面。",
    notFound: "没有找到，或您无权查看。",
    retry: "重试",
    // The API's messages are English: in Chinese a refusal is named by its code.
    stale_version: "工单已被他人更新，请刷新后再试。",
    illegal_transition: "工单当前状态不允许此操作，请刷新查看最新状态。",
    conflict: "与现有数据冲突，请刷新后再试。",
    too_many_requests: "操作过于频繁，请稍后再试。",
    unauthenticated: "登录已失效，请重新登录。",
    payload_too_large: "提交的内容过大。",
    invalid_input: "填写的内容有误：{field}",
    server: "服务器出错，请稍后再试。",
  },
  en: {
    brand: "Unified town operations",
    overview: "Overview",
    dispatch: "Dispatch",
    inbox: "Inbox",
    report: "Report",
    submit: "New request",
    requests: "My requests",
    rankings: "Rankings",
    home: "Cases",
    logout: "Log out",
    switch: "中文",
    switchTitle: "切换到中文",
    error: "Something went wrong",
    forbidden: "Your role may not see this page.",
    notFound: "Not found, or not yours to see.",
    retry: "Retry",
  },
});

export function langSwitch() {
  return h("button", {
    type: "button",
    class: "lang-switch",
    "data-testid": "lang-switch",
    title: t("switchTitle"),
    onclick: () => switchLang(lang() === "zh" ? "en" : "zh"),
  }, t("switch"));
}

/** Render the header into `header` for the logged-in user `me` on page `active`. */
export function renderHeader(header, { me, config, active }) {
  const town = config?.town ? pick(config.town) : "townops";
  const link = (page, href = `/${page}`) =>
    h("a", { href, class: active === page ? "active" : null, "data-nav": page }, t(page));
  const links = [];
  if (me && OVERVIEW_ROLES.includes(me.role)) links.push(link("overview"));
  for (const page of ["dispatch", "inbox", "report", "requests", "submit", "rankings"]) {
    if (me && PAGE_ROLES[page].includes(me.role)) links.push(link(page));
  }
  if (me && me.role !== "resident") links.push(link("home", "/cases"));
  replaceChildren(
    header,
    h("a", { class: "brand", href: "/" }, h("strong", {}, town), h("span", {}, t("brand"))),
    h("nav", { class: "nav" }, links),
    h("div", { class: "who" },
      me ? h("span", { class: "user", "data-testid": "user" }, `${me.username} · ${label("role", me.role)}`) : null,
      me ? bell({ timeZone: config?.timezone }) : null,
      langSwitch(),
      me ? h("button", { type: "button", class: "link", "data-testid": "logout", onclick: logout }, t("logout")) : null,
    ),
  );
}

const ZH_CODES = new Set([
  "stale_version", "illegal_transition", "conflict", "too_many_requests", "unauthenticated",
  "payload_too_large", "invalid_input",
]);

/** The Chinese words for an API refusal (its message is English), or null. */
function zhMessage(error) {
  if (error.status >= 500) return t("server");
  if (!ZH_CODES.has(error.code)) return null;
  const field = error.details?.field;
  if (error.code === "invalid_input") return field ? t("invalid_input", { field }) : null;
  return t(error.code);
}

/** An error as a box on the page (API errors carry a code and a message). */
export function errorBox(error, onRetry) {
  let text = error?.message || String(error);
  if (lang() === "zh" && error?.code) text = zhMessage(error) || text;
  if (error?.status === 403) text = t("forbidden");
  if (error?.status === 404) text = t("notFound");
  const problems = error?.details?.problems || [];
  return h("div", { class: "error-box", role: "alert", "data-testid": "error" },
    h("strong", {}, t("error")),
    h("p", {}, text),
    problems.length ? h("ul", {}, problems.map((p) => h("li", {}, `${p.field}: ${p.problem}`))) : null,
    onRetry ? h("button", { type: "button", onclick: onRetry }, t("retry")) : null,
  );
}

export function stateBadge(state) {
  return h("span", { class: `badge state-${state}`, "data-state": state }, label("state", state));
}
