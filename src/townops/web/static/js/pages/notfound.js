// 找不到页面: the server answered 404 for an address it does not serve (a mistyped or old
// link); the page says so in the user's language with a way home. Public: a visitor who is
// not logged in gets it too (home then leads to the log-in page).

import { h, replaceChildren } from "../core/dom.js";

const messages = {
  zh: {
    title: "找不到页面",
    heading: "找不到这个页面",
    lead: "您打开的地址不存在，可能是链接有误或页面已移动。",
    address: "地址",
    home: "返回首页",
    track: "按查询码查询诉求",
  },
  en: {
    title: "Page not found",
    heading: "Page not found",
    lead: "There is no page at this address: the link may be wrong, or the page has moved.",
    address: "Address",
    home: "Back to the home page",
    track: "Follow a request by its tracking code",
  },
};

function render({ main, t, setTitle }) {
  setTitle(t("title"));
  replaceChildren(main, h("section", { class: "card not-found", "data-testid": "not-found" },
    h("p", { class: "not-found-code", "aria-hidden": "true" }, "404"),
    h("h1", {}, t("heading")),
    h("p", {}, t("lead")),
    h("p", { class: "muted" }, `${t("address")}: `, h("code", { "data-testid": "not-found-path" }, location.pathname)),
    h("p", { class: "not-found-links" },
      h("a", { class: "button primary", href: "/", "data-testid": "home-link" }, t("home")),
      h("a", { class: "button", href: "/track" }, t("track")))));
}

export default { messages, public: true, render };
