// Log-in: username and password against POST /api/v1/auth/token, then the role's home
// (or the page the user was sent away from).

import { h, replaceChildren } from "../core/dom.js";
import { pick } from "../core/i18n.js";
import { homeFor, login, rememberMe } from "../core/session.js";
import { api } from "../core/api.js";

const messages = {
  zh: {
    title: "登录",
    heading: "登录",
    username: "用户名",
    password: "密码",
    submit: "登录",
    busy: "正在登录…",
    wrong: "用户名或密码不对。",
    throttled: "登录失败次数过多，请 {minutes} 分钟后再试。",
    failed: "登录失败：{message}",
    offline: "本系统不访问互联网：所有页面、字体和地图都由本服务器提供。",
  },
  en: {
    title: "Log in",
    heading: "Log in",
    username: "Username",
    password: "Password",
    submit: "Log in",
    busy: "Logging in…",
    wrong: "Wrong username or password.",
    throttled: "Too many failed log-ins: try again in {minutes} min.",
    failed: "Could not log in: {message}",
    offline: "Nothing here uses the internet: pages, fonts and maps all come from this server.",
  },
};

function safeNext(url) {
  const next = url.searchParams.get("next");
  // Only a path on this server: never a redirect elsewhere.
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : null;
}

async function render({ main, t, config, url, setTitle }) {
  setTitle(t("title"));
  const message = h("p", { class: "form-message", role: "status", "data-testid": "login-message" });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, t("submit"));
  const form = h("form", { class: "login-form", "data-testid": "login-form" },
    h("h1", {}, config?.town ? pick(config.town) : "townops"),
    h("h2", {}, t("heading")),
    h("label", { for: "username" }, t("username")), username,
    h("label", { for: "password" }, t("password")), password,
    submit,
    message,
    h("p", { class: "hint" }, t("offline")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = t("busy");
    try {
      const answer = await login(username.value.trim(), password.value);
      const me = await api("/api/v1/auth/me");
      rememberMe(me);
      location.assign(safeNext(url) || homeFor(answer.role));
    } catch (error) {
      if (error.status === 401) message.textContent = t("wrong");
      else if (error.status === 429) {
        message.textContent = t("throttled", { minutes: Math.max(1, Math.ceil((error.retryAfter || 60) / 60)) });
      } else message.textContent = t("failed", { message: error.message });
      message.classList.add("error");
      submit.disabled = false;
    }
  });
  replaceChildren(main, h("section", { class: "login" }, form));
}

export default { messages, public: true, render };
