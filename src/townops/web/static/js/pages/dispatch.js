// 派单台: the operations centre's work page. Four queues, each with its count and paging:
// cases waiting for a dispatcher (with the system's suggestions as one-click buttons),
// extension requests to decide, overdue cases to hurry (督办, 吹哨), resolved cases to call
// back. On a phone one queue at a time (tabs); on a desktop or wall side by side.
// The queue's rows can be picked and dispatched at once (批量派单: each as its routing
// suggests, or all to one department), each case's outcome shown in its row.
//
// Everything comes from paginated API calls; no list of all cases is ever fetched.

import { api } from "../core/api.js";
import { actionButtons, actionForm, runAction } from "../core/actions.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { loadReference } from "../core/reference.js";
import { pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { errorBox, refusalText, stateBadge } from "../core/shell.js";

const messages = {
  zh: {
    title: "派单台",
    refresh: "刷新",
    queue: "待派单",
    extensions: "延期审批",
    overdue: "超期",
    callbacks: "待回访",
    more: "加载更多",
    empty_queue: "没有待派单的工单。",
    empty_extensions: "没有待审批的延期申请。",
    empty_overdue: "没有超期工单。",
    empty_callbacks: "没有待回访的工单。",
    received: "受理 {when}",
    left: "剩余 {d}",
    late: "超期 {d}",
    noPlace: "未定位",
    sendTo: "派往 {target}",
    asCategory: "（按{category}）",
    other: "其他…",
    linkAs: "关联为 #{id} 的重复件",
    possibleRepeat: "可能重复：#{id}",
    noSuggestion: "系统没有建议，请人工派单。",
    dispatched: "已派往 {target}",
    linked: "已关联为 #{id} 的重复件",
    returnedBy: "已被退回",
    request: "申请延期 {days} 个工作日",
    requestBy: "{who} · {when}",
    requestReason: "原因：{reason}",
    loadingRequest: "正在读取申请…",
    noPending: "申请已处理。",
    cannotDecide: "您的角色不能审批延期。",
    approved: "已批准延期，新期限 {when}",
    denied: "已驳回延期申请",
    unit: "承办：{unit}",
    noUnit: "尚未派单",
    supervised: "已督办 {n} 次",
    summoned: "已吹哨：{units}",
    actedOn: "已完成：{action}",
    resolvedAt: "办结 {when}",
    reply: "答复：{reply}",
    calledBack: "已回访：{rating}",
    reopened: "已重办",
    close: "收起",
    pick: "选择 #{id}",
    pickAll: "全选",
    batchTarget: "派往",
    asSuggested: "按建议",
    batchDispatch: "批量派单（{n}）",
    batchDone: "已派 {ok} 件，{failed} 件未派",
    batchFailed: "未派：{why}",
  },
  en: {
    title: "Dispatch",
    refresh: "Refresh",
    queue: "To dispatch",
    extensions: "Extensions",
    overdue: "Overdue",
    callbacks: "Call back",
    more: "Load more",
    empty_queue: "Nothing waits for dispatch.",
    empty_extensions: "No extension request waits for a decision.",
    empty_overdue: "No overdue cases.",
    empty_callbacks: "No resolved case waits for a callback.",
    received: "received {when}",
    left: "{d} left",
    late: "overdue by {d}",
    noPlace: "no place",
    sendTo: "Send to {target}",
    asCategory: " (as {category})",
    other: "Other…",
    linkAs: "Link as a repeat of #{id}",
    possibleRepeat: "possible repeat of #{id}",
    noSuggestion: "No suggestion: dispatch by hand.",
    dispatched: "Sent to {target}",
    linked: "Linked as a repeat of #{id}",
    returnedBy: "returned",
    request: "{days} more working days requested",
    requestBy: "{who} · {when}",
    requestReason: "Reason: {reason}",
    loadingRequest: "Reading the request…",
    noPending: "The request has been decided.",
    cannotDecide: "Your role may not decide extensions.",
    approved: "Extension approved, new deadline {when}",
    denied: "Extension denied",
    unit: "In charge: {unit}",
    noUnit: "not dispatched yet",
    supervised: "supervised {n}×",
    summoned: "summoned: {units}",
    actedOn: "Done: {action}",
    resolvedAt: "resolved {when}",
    reply: "Reply: {reply}",
    calledBack: "Called back: {rating}",
    reopened: "Reopened",
    close: "Close",
    pick: "Pick #{id}",
    pickAll: "Select all",
    batchTarget: "Send to",
    asSuggested: "As suggested",
    batchDispatch: "Dispatch selected ({n})",
    batchDone: "{ok} dispatched, {failed} not",
    batchFailed: "Not dispatched: {why}",
  },
};

const PAGE = 20;
const EXTENSION_PAGE = 10; // each extension row loads its case for the request itself
const SECTIONS = ["queue", "extensions", "overdue", "callbacks"];
const REFRESH_MS = 60_000;
const TICK_MS = 30_000;

function short(text, n = 70) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

async function render(ctx) {
  const { main, t, fmt, me, url, setTitle } = ctx;
  // case.css: the action forms and buttons (core/actions.js) look as on the case page.
  await Promise.all([useStyle("../../css/case.css", import.meta.url), useStyle("../../css/work.css", import.meta.url)]);
  setTitle(t("title"));

  const { raw: reference, categories, departments, places } = await loadReference();
  const nameOf = (map, code) => (map.get(code) ? pick(map.get(code)) : code);
  const categoryName = (code) => nameOf(categories, code);
  const targetName = (x) => (x.department ? nameOf(departments, x.department) : x.community ? nameOf(places, x.community) : "—");

  // ---- pieces shared by the rows

  function dueLabel(dueAt) {
    const seconds = (new Date(dueAt).getTime() - Date.now()) / 1000;
    return seconds >= 0 ? t("left", { d: fmt.duration(seconds) }) : t("late", { d: fmt.duration(seconds) });
  }

  function due(c) {
    const late = new Date(c.due_at).getTime() < Date.now();
    return h("span", { class: ["wq-due", late && "late"], "data-due": c.due_at, title: fmt.dateTime(c.due_at) }, dueLabel(c.due_at));
  }

  function place(c) {
    if (c.jurisdiction) return nameOf(places, c.jurisdiction);
    if (c.community) return nameOf(places, c.community);
    return c.address || t("noPlace");
  }

  function head(c, ...extra) {
    return h("div", { class: "wq-row-head" },
      h("a", { class: "wq-id", href: `/cases/${c.id}`, "data-testid": "case-link" }, `#${c.id}`),
      h("strong", { class: "wq-cat" }, pick(c, "category_name") || categoryName(c.category)),
      c.state === "returned" ? stateBadge(c.state) : null,
      h("span", { class: "wq-kind" }, label("kind", c.kind)),
      ...extra);
  }

  function facts(c, ...extra) {
    return h("div", { class: "wq-meta" },
      h("span", {}, place(c)),
      h("span", {}, t("received", { when: fmt.when(c.received_at) })),
      ...extra);
  }

  function body(c) {
    return h("p", { class: "wq-content", title: c.content }, short(c.content));
  }

  function done(c, text) {
    return h("li", { class: "wq-row wq-done", "data-case-id": c.id, "data-testid": "done", role: "status" },
      h("a", { class: "wq-id", href: `/cases/${c.id}` }, `#${c.id}`), " ", text);
  }

  // ---- a section: a titled, counted, paged list

  const tabs = h("div", { class: "wq-tabs", role: "tablist" });
  const board = h("div", { class: "wq-board" });

  function section(key, { load, row, pageSize = PAGE }) {
    const count = h("span", { class: "wq-count", "data-testid": `count-${key}` }, "…");
    const tabCount = h("span", { class: "wq-count" }, "…");
    const list = h("ol", { class: "wq-list", "data-testid": `list-${key}` });
    const problem = h("div", { class: "wq-problem" });
    const more = h("button", { type: "button", class: "more", "data-testid": `more-${key}`, hidden: true }, t("more"));
    const element = h("section", { class: "wq-section card", id: `wq-${key}`, "data-section": key, "data-testid": `section-${key}`, role: "tabpanel" },
      h("header", { class: "wq-head" }, h("h2", {}, t(key)), count),
      problem, list, more);
    const tab = h("button", { type: "button", role: "tab", class: "wq-tab", "data-tab": key, "data-testid": `tab-${key}`, "aria-controls": `wq-${key}`, onclick: () => show(key) },
      h("span", {}, t(key)), tabCount);
    tabs.append(tab);
    board.append(element);

    const state = { total: null, shown: new Set(), rows: 0 };
    function setTotal(n) {
      state.total = n;
      const text = n === null ? "…" : fmt.number(n);
      count.textContent = text;
      tabCount.textContent = text;
      element.classList.toggle("has-items", Boolean(n));
      tab.classList.toggle("has-items", Boolean(n));
    }
    function showEmpty() {
      if (!list.querySelector("li.wq-row:not(.wq-done)") && !list.querySelector("li.wq-empty")) {
        list.append(h("li", { class: "wq-empty" }, t(`empty_${key}`)));
      }
    }
    /** A row left the queue: count it out, leave the confirmation in its place. */
    function leave(li, c, text) {
      li.replaceWith(done(c, text));
      if (state.total !== null) setTotal(Math.max(0, state.total - 1));
      showEmpty();
    }

    async function fetchMore(first) {
      more.disabled = true;
      try {
        // Ask again from the top for everything shown so far plus a page, and keep the new
        // ones: rows acted on meanwhile have left the queue and would shift the pages.
        const want = (first ? 0 : state.rows) + pageSize;
        const { items, total, hasMore } = await load(want);
        if (first) {
          replaceChildren(list);
          state.shown.clear();
          state.rows = 0;
        }
        replaceChildren(problem);
        if (total !== undefined) setTotal(total);
        for (const c of items) {
          if (state.shown.has(c.id)) continue;
          state.shown.add(c.id);
          state.rows += 1;
          list.append(row(c, { leave }));
        }
        showEmpty();
        more.hidden = !hasMore;
      } catch (error) {
        if (error?.status !== 401) replaceChildren(problem, errorBox(error, () => fetchMore(first)));
      } finally {
        more.disabled = false;
      }
    }
    more.addEventListener("click", () => fetchMore(false));

    return {
      key,
      element,
      tab,
      reload: () => fetchMore(true),
      // Picked rows count as work under way: the minute's refresh must not drop the picks.
      busy: () => Boolean(element.querySelector("form, li.wq-busy, .wq-pick:checked")),
    };
  }

  // ---- 待派单: the dispatch queue with the system's suggestions

  async function loadQueue(limit) {
    const [items, counted] = await Promise.all([
      api("/api/v1/dispatch/queue", { query: { limit } }),
      api("/api/v1/cases", { query: { state: ["received", "returned"], page_size: 1, with_total: true } }),
    ]);
    return { items, total: counted.total, hasMore: items.length >= limit };
  }

  function queueRow(c, { leave }) {
    const li = h("li", { class: "wq-row", "data-case-id": c.id });
    const slot = h("div", { class: "wq-slot" });
    const r = c.routing;
    const may = (action) => c.allowed_actions.includes(action);
    const suggestions = (r?.suggestions || []).filter((s) => s.department || s.community);
    // (Not named `pick`: that is i18n's, used below for the suggestions' names.)
    const checkbox = may("dispatch")
      ? h("input", { type: "checkbox", class: "wq-pick", "data-testid": "pick", "aria-label": t("pick", { id: c.id }), onchange: () => batch.update() })
      : null;
    if (checkbox) batch.rows.set(c.id, { c, li, slot, pick: checkbox, leave });

    async function send(fields, text, button) {
      li.classList.add("wq-busy");
      for (const b of li.querySelectorAll("button")) b.disabled = true;
      try {
        await runAction(c, fields.duplicate_of ? "link" : "dispatch", fields);
        leave(li, c, text);
        batch.update();
      } catch (error) {
        if (error?.status === 401) return;
        li.classList.remove("wq-busy");
        for (const b of li.querySelectorAll("button")) b.disabled = false;
        replaceChildren(slot, errorBox(error, () => sections.queue.reload()));
        button?.focus();
      }
    }

    function suggestionButton(s, index) {
      const fields = s.department ? { department: s.department } : { community: s.community };
      // Following a suggestion of another category corrects the category too (its deadline
      // follows), and teaches the classifier the right label.
      if (s.category && s.category !== c.category) fields.category = s.category;
      const target = targetName(s);
      const button = h("button", {
        type: "button",
        class: ["wq-suggest", index === 0 && "primary"],
        "data-testid": "suggest",
        "data-department": s.department || null,
        "data-community": s.community || null,
        "data-category": s.category || null,
        onclick: () => send(fields, t("dispatched", { target }), button),
      }, t("sendTo", { target }), fields.category ? t("asCategory", { category: pick(s, "category_name") || categoryName(s.category) }) : "");
      return button;
    }

    function openForm() {
      const first = suggestions[0];
      const preset = first ? (first.department ? { department: first.department } : { community: first.community }) : {};
      const form = actionForm({
        c,
        action: "dispatch",
        reference,
        me,
        preset,
        onCancel: () => replaceChildren(slot),
        onDone: (updated) => {
          if (!updated) return sections.queue.reload();
          leave(li, c, t("dispatched", { target: targetName({ department: updated.department, community: updated.assignee_community }) }));
          batch.update();
        },
      });
      replaceChildren(slot, form);
      form.querySelector("select, input, textarea")?.focus();
    }

    const buttons = [];
    if (may("dispatch")) {
      suggestions.forEach((s, i) => buttons.push(suggestionButton(s, i)));
      buttons.push(h("button", { type: "button", class: "wq-other", "data-testid": "dispatch-other", onclick: openForm }, t("other")));
    }
    const repeatOf = r?.duplicate_of;
    if (repeatOf && may("link")) {
      const button = h("button", { type: "button", "data-testid": "link-repeat", onclick: () => send({ duplicate_of: repeatOf }, t("linked", { id: repeatOf }), button) },
        t("linkAs", { id: repeatOf }));
      buttons.push(button);
    }

    replaceChildren(li,
      head(c, due(c), checkbox),
      body(c),
      facts(c,
        r ? h("span", { class: "wq-why", "data-reason": r.reason_code }, routingReason(r)) : null,
        repeatOf ? h("a", { href: `/cases/${repeatOf}`, class: "wq-repeat" }, t("possibleRepeat", { id: repeatOf })) : null),
      suggestions.length || !may("dispatch") ? null : h("p", { class: "wq-note" }, t("noSuggestion")),
      buttons.length ? h("div", { class: "wq-actions" }, buttons) : null,
      slot);
    return li;
  }

  // ---- 批量派单: the picked queue rows dispatched in one request, each reported in its row

  function batchBar() {
    const rows = new Map(); // case id → {c, li, slot, pick, leave} of the rows shown
    const all = h("input", { type: "checkbox", "data-testid": "pick-all", onchange: () => {
      for (const row of live()) row.pick.checked = all.checked;
      update();
    } });
    const target = h("select", { "data-testid": "batch-target", "aria-label": t("batchTarget") },
      h("option", { value: "" }, t("asSuggested")),
      [...departments.keys()].map((code) => h("option", { value: code }, nameOf(departments, code))));
    const go = h("button", { type: "button", class: "primary", "data-testid": "batch-dispatch", disabled: true, onclick: send }, t("batchDispatch", { n: 0 }));
    const summary = h("span", { class: "wq-muted", "data-testid": "batch-summary", role: "status" });
    const element = h("div", { class: "wq-batch", "data-testid": "batch-bar", hidden: true },
      h("label", {}, all, " ", t("pickAll")),
      h("label", {}, t("batchTarget"), " ", target),
      go, summary);

    /** The rows still on the page (a reload replaces them). */
    function live() {
      for (const [id, row] of rows) if (!row.li.isConnected) rows.delete(id);
      return [...rows.values()];
    }
    function update() {
      const shown = live();
      const picked = shown.filter((row) => row.pick.checked);
      element.hidden = !shown.length;
      go.disabled = !picked.length;
      go.textContent = t("batchDispatch", { n: picked.length });
      all.checked = Boolean(shown.length) && picked.length === shown.length;
    }

    async function send() {
      const picked = live().filter((row) => row.pick.checked);
      if (!picked.length) return;
      const department = target.value;
      const items = picked.map(({ c }) => ({ case_id: c.id, version: c.version, ...(department ? { department_code: department } : {}) }));
      go.disabled = true;
      for (const row of picked) row.li.classList.add("wq-busy");
      try {
        const out = await api("/api/v1/cases/dispatch-batch", { method: "POST", json: { items } });
        const byId = new Map(picked.map((row) => [row.c.id, row]));
        for (const result of out.items) {
          const row = byId.get(result.case_id);
          if (!row) continue;
          row.li.classList.remove("wq-busy");
          if (result.dispatched) {
            row.leave(row.li, row.c, t("dispatched", { target: targetName(result) }));
          } else {
            row.pick.checked = false;
            // The error a single dispatch would have answered, worded as the page words it.
            replaceChildren(row.slot, h("div", { class: "error-box", role: "alert", "data-testid": "batch-error", "data-code": result.error.code },
              t("batchFailed", { why: refusalText(result.error) })));
          }
        }
        summary.textContent = t("batchDone", { ok: fmt.number(out.dispatched), failed: fmt.number(out.failed) });
      } catch (error) {
        for (const row of picked) row.li.classList.remove("wq-busy");
        if (error?.status !== 401) replaceChildren(summary, errorBox(error));
      } finally {
        update();
      }
    }
    return { element, rows, update };
  }
  const batch = batchBar();

  /** The routing reason in the page's language: labels.js words the code, the figures fill in. */
  function routingReason(r) {
    const params = { text: r.reason, ...(r.reason_params || {}) };
    const figure = (key) => (typeof params[key] === "number" && key !== "case_id" ? params[key].toFixed(2) : String(params[key] ?? ""));
    const words = r.reason_code ? label("routing_reason", r.reason_code).replace(/\{(\w+)\}/g, (_, key) => figure(key)) : r.reason;
    return [label("routing_outcome", r.outcome), words].filter(Boolean).join(" · ");
  }

  // ---- 延期审批: pending extension requests (the list leaves them out: each row loads its case)

  async function loadList(query, size) {
    const data = await api("/api/v1/cases", { query: { ...query, page: 1, page_size: Math.min(size, 200), with_total: true } });
    return { items: data.items, total: data.total, hasMore: data.has_more };
  }

  function extensionRow(c, { leave }) {
    const li = h("li", { class: "wq-row", "data-case-id": c.id });
    const request = h("div", { class: "wq-request", "data-testid": "extension-request" }, h("span", { class: "muted" }, t("loadingRequest")));
    const slot = h("div", { class: "wq-slot" });
    replaceChildren(li, head(c, due(c)), body(c), facts(c, unitOf(c)), request, slot);

    api(`/api/v1/cases/${c.id}`).then((full) => {
      const pending = (full.extensions || []).find((x) => x.status === "pending");
      if (!pending) {
        replaceChildren(request, h("span", { class: "muted" }, t("noPending")));
        return;
      }
      const may = (action) => full.allowed_actions.includes(action);
      const decide = [];
      if (may("approve_extension")) {
        const approve = h("button", { type: "button", class: "primary", "data-action": "approve_extension", onclick: async () => {
          approve.disabled = true;
          try {
            const updated = await runAction(full, "approve_extension");
            leave(li, c, t("approved", { when: fmt.dateTime(updated.due_at) }));
          } catch (error) {
            if (error?.status !== 401) replaceChildren(slot, errorBox(error, () => sections.extensions.reload()));
            approve.disabled = false;
          }
        } }, label("action", "approve_extension"));
        decide.push(approve);
      }
      if (may("deny_extension")) {
        decide.push(h("button", { type: "button", "data-action": "deny_extension", onclick: () => {
          const form = actionForm({
            c: full,
            action: "deny_extension",
            reference,
            me,
            onCancel: () => replaceChildren(slot),
            onDone: (updated) => (updated ? leave(li, c, t("denied")) : sections.extensions.reload()),
          });
          replaceChildren(slot, form);
          form.querySelector("textarea")?.focus();
        } }, label("action", "deny_extension")));
      }
      replaceChildren(request,
        h("strong", {}, t("request", { days: pending.working_days })),
        h("span", { class: "wq-muted" }, t("requestBy", { who: pending.requested_by, when: fmt.when(pending.requested_at) })),
        h("p", { class: "wq-reason" }, t("requestReason", { reason: pending.reason })),
        decide.length ? h("div", { class: "wq-actions" }, decide) : h("p", { class: "wq-note" }, t("cannotDecide")));
    }).catch((error) => {
      if (error?.status !== 401) replaceChildren(request, errorBox(error));
    });
    return li;
  }

  function unitOf(c) {
    const unit = c.department ? nameOf(departments, c.department) : c.assignee_community ? nameOf(places, c.assignee_community) : null;
    return h("span", { class: "wq-unit" }, unit ? t("unit", { unit }) : t("noUnit"));
  }

  // ---- 超期: overdue cases to hurry (督办) or to summon departments for (吹哨)

  function overdueRow(c) {
    const li = h("li", { class: "wq-row wq-late", "data-case-id": c.id });
    const flash = h("p", { class: "wq-flash", role: "status" });
    function draw(current, message) {
      const summoned = (current.summonses || []).filter((x) => !x.reported_in_at).map((x) => nameOf(departments, x.department));
      replaceChildren(li,
        head(current, due(current)),
        body(current),
        facts(current, unitOf(current),
          current.supervision_count ? h("span", {}, t("supervised", { n: current.supervision_count })) : null,
          summoned.length ? h("span", {}, t("summoned", { units: summoned.join("、") })) : null),
        actionButtons({
          c: current,
          reference,
          me,
          only: ["supervise", "whistle"],
          onDone: (updated, action) => (updated ? draw(updated, t("actedOn", { action: label("action", action) })) : sections.overdue.reload()),
        }),
        flash);
      flash.textContent = message || "";
    }
    draw(c);
    return li;
  }

  // ---- 待回访: resolved cases waiting for the requester's rating

  function callbackRow(c, { leave }) {
    const li = h("li", { class: "wq-row", "data-case-id": c.id });
    replaceChildren(li,
      head(c),
      body(c),
      facts(c, unitOf(c), c.resolved_at ? h("span", {}, t("resolvedAt", { when: fmt.when(c.resolved_at) })) : null),
      c.reply ? h("p", { class: "wq-reason" }, t("reply", { reply: short(c.reply, 90) })) : null,
      actionButtons({
        c,
        reference,
        me,
        only: ["callback", "reopen"],
        onDone: (updated, action) => {
          if (!updated) return sections.callbacks.reload();
          leave(li, c, action === "callback" ? t("calledBack", { rating: label("rating", updated.rating) }) : t("reopened"));
        },
      }));
    return li;
  }

  // ---- the page

  const sections = {
    queue: section("queue", { load: async (n) => loadQueue(n).finally(() => setTimeout(() => batch.update())), row: queueRow }),
    extensions: section("extensions", {
      load: (n) => loadList({ extension: "pending", open: true, order: "due_at" }, n),
      row: extensionRow,
      pageSize: EXTENSION_PAGE,
    }),
    overdue: section("overdue", { load: (n) => loadList({ overdue: true, order: "due_at" }, n), row: overdueRow }),
    callbacks: section("callbacks", { load: (n) => loadList({ state: "resolved", order: "received_at" }, n), row: callbackRow }),
  };

  function show(key, { remember = true } = {}) {
    board.dataset.active = key;
    for (const s of Object.values(sections)) {
      const on = s.key === key;
      s.tab.setAttribute("aria-selected", on ? "true" : "false");
      s.tab.classList.toggle("active", on);
    }
    if (!remember) return;
    // The tab stays on reload and in a shared link.
    const next = new URL(location.href);
    next.searchParams.set("s", key);
    history.replaceState(null, "", next.pathname + next.search);
  }

  sections.queue.element.querySelector(".wq-head").after(batch.element);

  const refresh = h("button", { type: "button", class: "wq-refresh", "data-testid": "refresh", onclick: () => reloadAll(true) }, t("refresh"));
  replaceChildren(main, h("div", { class: "wq-page" },
    h("div", { class: "page-head" }, h("h1", {}, t("title")), refresh),
    tabs, board));
  const asked = url.searchParams.get("s");
  show(SECTIONS.includes(asked) ? asked : "queue", { remember: false });

  async function reloadAll(force) {
    // A section with an open form or a request on the way is left alone, so no one's typing is lost.
    await Promise.all(Object.values(sections).filter((s) => force || !s.busy()).map((s) => s.reload()));
  }
  await reloadAll(true);

  const ticker = setInterval(() => {
    for (const el of main.querySelectorAll("[data-due]")) {
      el.textContent = dueLabel(el.dataset.due);
      el.classList.toggle("late", new Date(el.dataset.due).getTime() < Date.now());
    }
  }, TICK_MS);
  const refresher = setInterval(() => {
    if (!document.hidden) reloadAll(false);
  }, REFRESH_MS);
  return () => {
    clearInterval(ticker);
    clearInterval(refresher);
  };
}

export default { messages, render };
