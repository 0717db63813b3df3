// One case: its fields (masked as the API masks them), its timeline from the audit trail,
// its routing, its device alarms, and the actions the API says the caller may take.

import { api } from "../core/api.js";
import { loadReference } from "../core/reference.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { lang, pick } from "../core/i18n.js";
import { label } from "../core/labels.js";
import { actionButtons } from "../core/actions.js";
import { alarmSummary } from "../core/alarms.js";
import { actorWords, eventData, reasonWords, sourceWords, systemNote } from "../core/timeline.js";
import { photoStrip } from "../core/photos.js";
import { errorBox, stateBadge } from "../core/shell.js";

const messages = {
  zh: {
    title: "工单 #{id}",
    token: "查询码",
    kind: "类型",
    source: "来源",
    category: "类别",
    received_at: "受理时间",
    due_at: "办理期限",
    left: "剩余 {d}",
    late: "已超期 {d}",
    department: "承办部门",
    assignee_community: "承办居村",
    community: "所属居村",
    jurisdiction: "所在网格",
    address: "地址",
    requester: "诉求人",
    masked: "（已脱敏）",
    first_contact: "先行联系",
    first_contact_due: "应于 {when} 前",
    first_contact_done: "已于 {when} 联系",
    reply: "答复",
    rating: "评价",
    counts: "退单 {r} · 重办 {o} · 延期 {e} · 督办 {s}",
    duplicate_of: "重复于",
    content: "诉求内容",
    reportPhotos: "上报照片",
    resolvePhotos: "办结照片",
    commentPhotos: "补充照片",
    attributes: "补充信息",
    links: "图片链接",
    timeline: "办理经过",
    noEvents: "没有记录",
    pendingCategory: "待分类",
    routing: "自动派单",
    automatic: "系统自动派单",
    notAutomatic: "需人工派单",
    outcome: "结果",
    rule: "规则",
    confidence: "把握 {c}（阈值 {th}）",
    suggestions: "建议",
    alarms: "物联告警",
    noAlarms: "没有关联的告警",
    summonses: "吹哨报到",
    reportedIn: "已报到 {when}",
    reportBy: "应于 {when} 前报到",
    extensions: "延期申请",
    workingDays: "{n} 个工作日",
    actions: "可执行操作",
    noActions: "您当前不能对此工单执行操作。",
    done: "已完成：{action}",
    back: "返回",
  },
  en: {
    title: "Case #{id}",
    token: "Tracking code",
    kind: "Kind",
    source: "Source",
    category: "Category",
    received_at: "Received",
    due_at: "Deadline",
    left: "{d} left",
    late: "overdue by {d}",
    department: "Department in charge",
    assignee_community: "Community in charge",
    community: "Community",
    jurisdiction: "Grid",
    address: "Address",
    requester: "Requester",
    masked: "(masked)",
    first_contact: "First contact",
    first_contact_due: "due by {when}",
    first_contact_done: "made {when}",
    reply: "Reply",
    rating: "Rating",
    counts: "returns {r} · reopens {o} · extensions {e} · supervisions {s}",
    duplicate_of: "Repeat of",
    content: "What was asked",
    reportPhotos: "Photos sent with the request",
    resolvePhotos: "Photos of the resolution",
    commentPhotos: "Photos added later",
    attributes: "Details",
    links: "Picture links",
    timeline: "Timeline",
    noEvents: "No events",
    pendingCategory: "Being routed",
    routing: "Automatic dispatch",
    automatic: "dispatched by the system",
    notAutomatic: "left to a dispatcher",
    outcome: "Outcome",
    rule: "Rule",
    confidence: "confidence {c} (threshold {th})",
    suggestions: "Suggestions",
    alarms: "Device alarms",
    noAlarms: "No alarms attached",
    summonses: "Summoned departments",
    reportedIn: "reported in {when}",
    reportBy: "to report in by {when}",
    extensions: "Extension requests",
    workingDays: "{n} working days",
    actions: "Actions",
    noActions: "You cannot act on this case now.",
    done: "Done: {action}",
    back: "Back",
  },
};

async function render(ctx) {
  const { main, t, fmt, me, params, setTitle } = ctx;
  const id = Number(params[0]);
  await useStyle("../../css/case.css", import.meta.url);
  setTitle(t("title", { id }));
  const flash = h("p", { class: "flash", role: "status", "data-testid": "flash" });

  const referenceLoad = loadReference();

  async function load() {
    const [c, history, reference] = await Promise.all([
      api(`/api/v1/cases/${id}`),
      api(`/api/v1/cases/${id}/history`),
      referenceLoad,
    ]);
    let alarms = null;
    if (c.kind === "iot_alarm" && me?.role !== "resident") {
      alarms = await api("/api/v1/alarms", { query: { case: id, limit: 50 } }).catch(() => null);
    }
    return { c, history, reference, alarms };
  }

  function draw({ c, history, reference, alarms }) {
    const { departments, places, categories } = reference;
    const name = (map, code) => (code ? (map.get(code) ? pick(map.get(code)) : code) : "—");
    // A resident is not told the classifier's unconfirmed guess as fact (待分类).
    const pending = me?.role === "resident" && c.category_pending;
    const categoryName = pending ? t("pendingCategory") : pick(c, "category_name") || name(categories, c.category);

    const deadline = [fmt.dateTime(c.due_at)];
    if (c.seconds_left > 0) deadline.push(" · ", t("left", { d: fmt.duration(c.seconds_left) }));
    if (c.overdue) deadline.push(" · ", h("span", { class: "badge overdue" }, t("late", { d: fmt.duration(c.seconds_left) })));
    const requester = [c.requester.name, c.requester.phone, c.requester.email].filter(Boolean).join(" ");
    const rows = [
      ["token", h("code", { "data-testid": "case-token" }, c.token)],
      ["kind", label("kind", c.kind)],
      ["source", sourceWords(c)],
      ["category", h("span", { "data-testid": "case-category", "data-pending": pending ? "1" : null }, categoryName)],
      ["received_at", fmt.dateTime(c.received_at)],
      ["due_at", deadline],
      ["department", name(departments, c.department)],
      ["assignee_community", c.assignee_community ? name(places, c.assignee_community) : null],
      ["community", name(places, c.community)],
      ["jurisdiction", c.jurisdiction && c.jurisdiction !== c.community ? name(places, c.jurisdiction) : null],
      ["address", c.address || null],
      ["attributes", attributesOf(c, reference.raw)],
      ["links", linksOf(c)],
      ["requester", requester ? `${requester}${c.requester.masked ? ` ${t("masked")}` : ""}` : null],
      ["first_contact", c.first_contact_due_at
        ? (c.first_contact_at ? t("first_contact_done", { when: fmt.dateTime(c.first_contact_at) }) : t("first_contact_due", { when: fmt.dateTime(c.first_contact_due_at) }))
        : null],
      ["reply", c.reply],
      ["rating", c.rating ? label("rating", c.rating) : null],
      ["duplicate_of", c.duplicate_of ? h("a", { href: `/cases/${c.duplicate_of}` }, `#${c.duplicate_of}`) : null],
    ].filter(([, v]) => v !== null && v !== undefined && v !== "");

    const sections = [
      h("p", { class: "back-link" }, h("a", { href: "/cases" }, `← ${t("back")}`)),
      h("div", { class: "page-head" },
        h("h1", {}, t("title", { id: c.id })),
        h("span", { "data-testid": "case-state" }, stateBadge(c.state)),
        c.overdue ? h("span", { class: "badge overdue" }, t("late", { d: fmt.duration(c.seconds_left) })) : null,
        h("span", { class: ["category", pending && "pending"] }, categoryName)),
      flash,
      h("div", { class: "case-grid" },
        h("section", { class: "card case-fields", "data-testid": "case-fields" },
          h("dl", {}, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, value)])),
          h("p", { class: "counts" }, t("counts", { r: c.return_count, o: c.reopen_count, e: c.extension_count, s: c.supervision_count }))),
        h("section", { class: "card case-content" },
          h("h2", {}, t("content")),
          h("p", { class: "content", "data-testid": "case-content" }, c.content),
          photosOf(c, "report", t("reportPhotos")),
          photosOf(c, "comment", t("commentPhotos")),
          photosOf(c, "resolve", t("resolvePhotos"))),
        actionsCard(c, reference.raw),
        h("section", { class: "card case-timeline", "data-testid": "timeline" },
          h("h2", {}, t("timeline")),
          history.length ? h("ol", { class: "timeline" }, history.map((e) => eventItem(e, departments))) : h("p", {}, t("noEvents"))),
        c.summonses?.length ? summonsCard(c, departments) : null,
        c.extensions?.length ? extensionsCard(c) : null,
        c.routing ? routingCard(c.routing, departments, places, categories) : null,
        alarms ? alarmsCard(alarms) : null,
      ),
    ];
    replaceChildren(main, h("article", { class: "case", "data-testid": "case", "data-case-id": c.id, "data-version": c.version }, sections));
  }

  function eventItem(e, departments) {
    const data = eventData(e, fmt);
    // The system's own notes in words; a person's comment as written.
    const note = systemNote(e);
    const comment = note ?? e.comment;
    return h("li", { class: `event action-${e.action}`, "data-event-id": e.id, "data-action": e.action },
      h("time", { datetime: e.at }, fmt.dateTime(e.at)),
      h("div", { class: "event-body" },
        h("strong", {}, label("action", e.action)),
        e.from_state && e.from_state !== e.to_state
          ? h("span", { class: "states" }, `${label("state", e.from_state)} → ${label("state", e.to_state)}`)
          : null,
        h("span", { class: "actor" }, actorWords(e)),
        e.department ? h("span", { class: "dept" }, departments.get(e.department) ? pick(departments.get(e.department)) : e.department) : null,
        comment ? h("p", { class: ["comment", note !== null && "system-note"] }, comment) : null,
        data.length
          ? h("dl", { class: "event-data" }, data.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))
          : null));
  }

  function summonsCard(c, departments) {
    return h("section", { class: "card" }, h("h2", {}, t("summonses")),
      h("ul", {}, c.summonses.map((x) => h("li", {},
        departments.get(x.department) ? pick(departments.get(x.department)) : x.department, " · ",
        x.reported_in_at ? t("reportedIn", { when: fmt.dateTime(x.reported_in_at) }) : t("reportBy", { when: fmt.dateTime(x.report_in_due_at) }),
        x.overdue ? h("span", { class: "badge overdue" }, "!") : null))));
  }

  function extensionsCard(c) {
    return h("section", { class: "card" }, h("h2", {}, t("extensions")),
      h("ul", {}, c.extensions.map((x) => h("li", {},
        `${t("workingDays", { n: x.working_days })} · ${label("extension_status", x.status)} · ${x.reason} · ${x.requested_by} ${fmt.dateTime(x.requested_at)}`))));
  }

  function routingCard(r, departments, places, categories) {
    const target = r.department ? departments.get(r.department) : r.community ? places.get(r.community) : null;
    // The reason is a code with figures (labels.js words it); the English text only as a fallback.
    const why = r.reason_code ? reasonWords(r.reason_code, { text: r.reason, ...(r.reason_params || {}) }) : r.reason;
    return h("section", { class: "card routing", "data-testid": "routing" }, h("h2", {}, t("routing")),
      h("p", {}, r.automatic ? t("automatic") : t("notAutomatic"), target ? ` → ${pick(target)}` : ""),
      h("dl", {},
        h("dt", {}, t("outcome")), h("dd", { "data-outcome": r.outcome, "data-reason": r.reason_code }, label("routing_outcome", r.outcome), why ? ` · ${why}` : ""),
        // A town rule's own note is in Chinese: shown as is in zh, beside the rule's name in en.
        h("dt", {}, t("rule")), h("dd", { "data-rule": r.rule || "" }, !r.rule ? "—"
          : r.rule_note ? (lang() === "zh" ? r.rule_note : `${r.rule} · ${r.rule_note}`)
          : label("routing_rule", r.rule)),
        h("dt", {}, t("category")), h("dd", {}, categories.get(r.category) ? pick(categories.get(r.category)) : r.category, ` (${label("category_source", r.category_source)})`),
        h("dt", {}, ""), h("dd", {}, t("confidence", { c: r.confidence.toFixed(2), th: r.threshold.toFixed(2) }))),
      r.suggestions?.length
        ? [h("h3", {}, t("suggestions")), h("ol", {}, r.suggestions.map((sug) => {
          const where = sug.department ? departments.get(sug.department) : sug.community ? places.get(sug.community) : null;
          const what = pick(sug, "category_name") || (categories.get(sug.category) ? pick(categories.get(sug.category)) : sug.category);
          const score = typeof sug.score === "number" ? ` · ${sug.score.toFixed(2)}` : "";
          return h("li", {}, what || "—", where ? ` → ${pick(where)}` : "", score);
        }))]
        : null);
  }

  function alarmsCard(page) {
    return h("section", { class: "card alarms", "data-testid": "alarms" }, h("h2", {}, t("alarms")),
      page.items.length
        ? h("ul", {}, page.items.map((a) => h("li", { "data-alarm-id": a.id },
          h("strong", {}, `${label("severity", a.severity)} · ${pick(a, "rule_name") || label("alarm_rule", a.rule)}`), " ",
          h("span", {}, label("alarm", a.state)), " · ",
          h("a", { href: `/devices/${encodeURIComponent(a.device_id)}`, "data-testid": "device-link" }, a.device_id),
          a.device_model ? ` ${a.device_model}` : "", h("br"),
          h("span", { class: "alarm-summary" }, alarmSummary(a)), " · ", h("time", { datetime: a.raised_at }, fmt.dateTime(a.raised_at)),
          a.household ? h("span", {}, ` · ${a.household.name} ${a.household.phone}`) : null)))
        : h("p", {}, t("noAlarms")));
  }

  function actionsCard(c, reference) {
    const card = h("section", { class: "card case-actions", "data-testid": "actions" }, h("h2", {}, t("actions")));
    if (!c.allowed_actions.length) {
      card.append(h("p", { class: "muted" }, t("noActions")));
      return card;
    }
    card.append(actionButtons({
      c,
      reference,
      me,
      onDone: async (updated, action) => {
        draw(await load());
        if (updated) flash.textContent = t("done", { action: label("action", action) });
      },
    }));
    return card;
  }

  draw(await load());
}

/** The case's photos of one stage (sent with the report, or with the resolution). */
// A category's attributes (a street light's pole number …) by their names, a choice by its
// name; an attribute the category does not declare (a client's own field) by its code.
function attributesOf(c, raw) {
  const entries = Object.entries(c.attributes || {});
  if (!entries.length) return null;
  const specs = new Map(((raw?.categories || []).find((x) => x.code === c.category)?.attributes || []).map((a) => [a.code, a]));
  return h("ul", { class: "attributes", "data-testid": "case-attributes" }, entries.map(([code, value]) => {
    const spec = specs.get(code);
    const words = (key) => (spec?.values?.[key] ? pick(spec.values[key]) : key);
    const zh = lang() === "zh";
    const shown = Array.isArray(value) ? value.map(words).join(zh ? "、" : ", ") : words(value);
    return h("li", {}, h("span", { class: "attribute-name" }, spec ? pick(spec) : code), zh ? "：" : ": ", shown);
  }));
}

// Picture links a client sent: links, not images, so opening the case fetches nothing
// from elsewhere.
function linksOf(c) {
  const links = (c.media_urls || []).filter((u) => /^https?:\/\//i.test(u));
  if (!links.length) return null;
  return h("ul", { class: "links" }, links.map((u, i) =>
    h("li", {}, h("a", { href: u, target: "_blank", rel: "noopener noreferrer nofollow" }, `${i + 1}. ${new URL(u).host}`))));
}

function photosOf(c, stage, heading) {
  const strip = photoStrip((c.photos || []).filter((p) => p.stage === stage));
  return strip ? h("div", { class: `case-photos stage-${stage}`, "data-stage": stage }, h("h3", {}, heading), strip) : null;
}

export default { messages, render };
