// The web app's entry: pick the page from the path, make sure of the log-in, draw the
// header, then hand the main area to the page module (js/pages/<name>.js).
//
// A page module's default export: {messages: {zh, en}, public?: bool,
//   render(ctx) → optional cleanup function}. ctx = {main, t, me, config, fmt, params,
//   url, setTitle}. Pages fetch their data with core/api.js.

import { api, toLogin, webConfig } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { applyDocumentLang, translator } from "./i18n.js";
import { makeFormat } from "./format.js";
import { errorBox, renderHeader } from "./shell.js";
import { OVERVIEW_ROLES, PAGE_ROLES, cachedMe, homeFor, isLoggedIn, rememberMe } from "./session.js";

// `roles`: who may open the page (others get a "not for your role" box); none = everyone.
const ROUTES = [
  { pattern: /^\/login\/?$/, page: "login", public: true },
  { pattern: /^\/track\/?$/, page: "track", public: true },
  { pattern: /^\/overview\/?$/, page: "overview", roles: OVERVIEW_ROLES },
  { pattern: /^\/cases\/(\d+)\/?$/, page: "case" },
  { pattern: /^\/cases\/?$/, page: "home", list: true },
  { pattern: /^\/dispatch\/?$/, page: "dispatch", roles: PAGE_ROLES.dispatch },
  { pattern: /^\/inbox\/?$/, page: "inbox", roles: PAGE_ROLES.inbox },
  { pattern: /^\/report\/?$/, page: "report", roles: PAGE_ROLES.report },
  { pattern: /^\/submit\/?$/, page: "submit", roles: PAGE_ROLES.submit },
  { pattern: /^\/requests\/?$/, page: "requests", roles: PAGE_ROLES.requests },
  { pattern: /^\/rankings\/?$/, page: "rankings", roles: PAGE_ROLES.rankings },
  { pattern: /^\/notifications\/?$/, page: "notifications", roles: PAGE_ROLES.notifications },
  { pattern: /^\/duty\/?$/, page: "duty", roles: PAGE_ROLES.duty },
  { pattern: /^\/alarms\/?$/, page: "alarms", roles: PAGE_ROLES.alarms },
  { pattern: /^\/devices\/([^/]+)\/?$/, page: "device", roles: PAGE_ROLES.device },
  { pattern: /^\/$/, page: "home" },
];

// Any other address: the server answered 404 with this shell (townops/web/not_found.py).
const NOT_FOUND = { page: "notfound", public: true, params: [] };

function route() {
  for (const r of ROUTES) {
    const match = location.pathname.match(r.pattern);
    if (match) return { ...r, params: match.slice(1) };
  }
  return NOT_FOUND;
}

async function currentUser() {
  const hit = cachedMe();
  if (hit) return hit;
  const me = await api("/api/v1/auth/me");
  rememberMe(me);
  return me;
}

async function boot() {
  applyDocumentLang();
  const root = document.getElementById("app");
  const chosen = route();
  if (!chosen.public && !isLoggedIn()) {
    toLogin();
    return;
  }
  // Fetch the page's code, the town and the user at the same time.
  const pageModule = import(`../pages/${chosen.page}.js`);
  const [config, me] = await Promise.all([
    webConfig().catch(() => null),
    // The 404 page keeps the header of a logged-in user (from the session, with no call
    // that could send a visitor to the log-in page).
    chosen.public ? Promise.resolve(chosen === NOT_FOUND && isLoggedIn() ? cachedMe() : null) : currentUser(),
  ]);
  // "/" is the role's home: the one screen, the dispatch queue, the inbox, my requests …
  if (chosen.page === "home" && !chosen.list && me && homeFor(me.role) !== "/") {
    location.replace(homeFor(me.role) + location.search);
    return;
  }
  const header = h("header", { class: "top" });
  const main = h("main", { id: "main", class: `page page-${chosen.page}` });
  replaceChildren(root, header, main);
  document.body.dataset.page = chosen.page;
  document.documentElement.dataset.page = chosen.page;
  renderHeader(header, { me, config, active: chosen.page });
  if (chosen.roles && me && !chosen.roles.includes(me.role)) {
    replaceChildren(main, errorBox({ status: 403 }));
    return;
  }
  const page = (await pageModule).default;
  const t = translator(page.messages || {});
  const fmt = makeFormat(config?.timezone);
  const town = config?.town;
  const ctx = {
    main,
    t,
    me,
    config,
    fmt,
    params: chosen.params,
    url: new URL(location.href),
    setTitle: (text) => {
      document.title = [text, town?.name_zh, "townops"].filter(Boolean).join(" · ");
    },
  };
  try {
    await page.render(ctx);
  } catch (error) {
    if (error?.status === 401) return; // already on the way to the log-in page
    replaceChildren(main, errorBox(error, () => location.reload()));
  }
  // Tests and benchmarks wait for this: the page has drawn its first data.
  document.body.dataset.ready = "1";
}

boot().catch((error) => {
  if (error?.status === 401) return; // on the way to the log-in page
  const root = document.getElementById("app");
  replaceChildren(root, errorBox(error, () => location.reload()));
});
