// A case's timeline entry in people's words, in both languages: no codes.
//
// The engine and the domains write a few notes of their own on the audit trail (a free
// `comment`, sometimes half Chinese, half English, with codes in it): an automatic close
// after a callback, the overdue sweep's supervision, automatic dispatch and its reason,
// an alarm's or a vital sign's case dispatched by its route, a repeat answered with its
// master case. `systemNote(event)` words them from the event's structured data where it
// says enough, else from the known patterns of those notes; a person's own comment is
// returned as null (shown as written). `eventData(event)` gives the event's data as
// [label, value] pairs with every code named.

import { lang, translator } from "./i18n.js";
import { known, label } from "./labels.js";

const t = translator({
  zh: {
    system: "系统",
    client: "Open311 客户端 {name}",
    autoAfter: "{after}后自动{action}",
    autoOverdue: "已超期，系统自动督办",
    autoLateReportIn: "被吹哨部门未按时报到，系统自动督办",
    answeredWith: "与工单 #{id} 合并办理",
    autoLinked: "系统自动关联为重复件：{why}",
    autoDispatched: "系统自动派单：{why}",
    alarmDispatched: "物联告警按本镇告警分派规则自动派单",
    signDispatched: "体征预警，系统自动派给责任部门",
    alarm: "告警 #{id}",
    systemic: "举一反三 #{id}",
    yes: "是",
    no: "否",
    data_department: "部门",
    data_photos: "照片张数",
    data_community: "居村",
    data_category: "类别",
    data_duplicate_of: "重复于",
    data_on_time: "按时",
    data_reply: "答复",
    data_reason: "原因",
    data_returned_by: "退回方",
    data_extension_id: "延期申请",
    data_working_days: "工作日",
    data_old_due_at: "原期限",
    data_new_due_at: "新期限",
    data_due_at: "期限",
    data_automatic: "自动",
    data_departments: "被吹哨部门",
    data_report_in_hours: "报到时限（小时）",
    data_rating: "评价",
    data_alarm_id: "告警",
    data_device_id: "设备编号",
    data_rule: "告警规则",
    data_other: "其他",
  },
  en: {
    system: "System",
    client: "Open311 client {name}",
    autoAfter: "{action} automatically after the {after}",
    autoOverdue: "Overdue: supervised automatically",
    autoLateReportIn: "A summoned department did not report in on time: supervised automatically",
    answeredWith: "Answered together with case #{id}",
    autoLinked: "Linked automatically as a repeat: {why}",
    autoDispatched: "Dispatched automatically: {why}",
    alarmDispatched: "IoT alarm dispatched automatically by the town's alarm routing",
    signDispatched: "Vital-sign warning sent automatically to the unit responsible",
    alarm: "alarm #{id}",
    systemic: "systemic issue #{id}",
    yes: "yes",
    no: "no",
    data_department: "department",
    data_photos: "photos",
    data_community: "community",
    data_category: "category",
    data_duplicate_of: "repeat of",
    data_on_time: "on time",
    data_reply: "reply",
    data_reason: "reason",
    data_returned_by: "returned by",
    data_extension_id: "extension request",
    data_working_days: "working days",
    data_old_due_at: "old deadline",
    data_new_due_at: "new deadline",
    data_due_at: "deadline",
    data_automatic: "automatic",
    data_departments: "summoned",
    data_report_in_hours: "report-in hours",
    data_rating: "rating",
    data_alarm_id: "alarm",
    data_device_id: "device",
    data_rule: "alarm rule",
    data_other: "other",
  },
});

// English words for the automatic steps: what was done, after what.
const DONE_EN = {
  close: "Closed", reopen: "Reopened", resolve: "Resolved", dispatch: "Dispatched",
  link: "Linked", supervise: "Supervised", accept: "Accepted",
};
const AFTER_EN = { callback: "callback", resolve: "resolution", dispatch: "dispatch", link: "linking" };

// The routing reasons as automatic dispatch writes them in English (townops.dispatch.reasons).
const NUMBER = "(-?\\d+(?:\\.\\d+)?)";
const REASONS = [
  [new RegExp(`^rule '([^']*)', confidence ${NUMBER} ≥ ${NUMBER}$`), "confident", ["rule", "confidence", "threshold"]],
  [new RegExp(`^repeats open case (\\d+) \\(similarity ${NUMBER}\\)$`), "repeat", ["case_id", "similarity"]],
  [new RegExp(`^confidence ${NUMBER} below the threshold ${NUMBER}$`), "low_confidence", ["confidence", "threshold"]],
  [new RegExp(`^place not sure enough \\(${NUMBER}\\)$`), "unsure_place", ["place_confidence"]],
  [/^automatic dispatch is off for this town$/, "auto_dispatch_off", []],
  [/^the caller asked for a person to dispatch it$/, "person_requested", []],
  [/^no place found in the request$/, "no_place", []],
];

/** A routing reason (code and figures) in words: labels.js group routing_reason. */
export function reasonWords(code, params = {}) {
  const figure = (key) => {
    const value = params[key];
    return typeof value === "number" && key !== "case_id" ? value.toFixed(2) : String(value ?? "");
  };
  return label("routing_reason", code).replace(/\{(\w+)\}/g, (_, key) => figure(key));
}

/** Automatic dispatch's English reason sentence → words in the page's language. */
export function reasonText(sentence) {
  for (const [pattern, code, names] of REASONS) {
    const match = sentence.match(pattern);
    if (!match) continue;
    const params = {};
    names.forEach((name, i) => {
      const raw = match[i + 1];
      params[name] = name === "rule" ? raw : name === "case_id" ? Number.parseInt(raw, 10) : Number(raw);
    });
    return reasonWords(code, params);
  }
  return sentence;
}

function actionDone(action) {
  return lang() === "zh" ? label("action", action) : DONE_EN[action] || label("action", action);
}

function stepWord(action) {
  return lang() === "zh" ? label("action", action) : AFTER_EN[action] || label("action", action).toLowerCase();
}

/** The system's own note on an event, in words; null for a person's comment. */
export function systemNote(e) {
  const comment = e.comment || "";
  const data = e.data || {};
  let m;
  if (e.action === "supervise" && data.automatic && data.reason === "overdue") return t("autoOverdue");
  if (e.action === "supervise" && data.automatic && data.reason === "report_in_overdue") return t("autoLateReportIn");
  if ((m = comment.match(/^auto: after (\w+)$/))) return t("autoAfter", { after: stepWord(m[1]), action: actionDone(e.action) });
  if ((m = comment.match(/^与工单 #(\d+) 合并办理 \/ answered with case \d+$/))) return t("answeredWith", { id: m[1] });
  if ((m = comment.match(/^关联重复件 \/ linked as a repeat: (.*)$/))) return t("autoLinked", { why: reasonText(m[1]) });
  if ((m = comment.match(/^自动派单 \/ automatic dispatch: (.*)$/))) return t("autoDispatched", { why: reasonText(m[1]) });
  if (/^物联告警自动派单 \/ IoT alarm dispatched by route '[^']*'$/.test(comment)) return t("alarmDispatched");
  if (/^体征预警派给责任部门 vital-sign warning for its owner: \S+$/.test(comment)) return t("signDispatched");
  return null;
}

/** Who acted: the system in words, a person by user name and role. */
export function actorWords(e) {
  if (e.actor === "system") return t("system");
  // An Open311 client acts under its key's name (open311:<name>), not as a person.
  if (e.actor?.startsWith("open311:")) return t("client", { name: e.actor.slice(8) });
  return `${e.actor}${lang() === "zh" ? "（" : " ("}${label("role", e.actor_role)}${lang() === "zh" ? "）" : ")"}`;
}

// Data the system note already says (the automatic supervision's reason code).
function covered(e, key) {
  return e.action === "supervise" && e.data?.automatic && (key === "reason" || key === "automatic");
}

function named(code) {
  return known("department", code) ?? known("place", code) ?? code;
}

/** One data value for people: codes as names, ids as #n, dates in the town's time. */
function dataValue(key, value, fmt) {
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  if (key.endsWith("_at") && typeof value === "string") return fmt.dateTime(value);
  if (["department", "to_department", "from_department", "returned_by"].includes(key) && typeof value === "string") return named(value);
  if (key === "community" && typeof value === "string") return known("place", value) ?? value;
  if (key === "departments" && Array.isArray(value)) return value.map(named).join(lang() === "zh" ? "、" : ", ");
  if (key === "photos" && Array.isArray(value)) return String(value.length);
  if (key === "rating" && typeof value === "string") return label("rating", value);
  if (key === "category" && typeof value === "string") return known("category", value) ?? value;
  if (key === "rule" && typeof value === "string") return known("alarm_rule", value) ?? value;
  if (["alarm_id", "extension_id", "duplicate_of"].includes(key)) return `#${value}`;
  if (typeof value === "number") return fmt.number ? fmt.number(value) : String(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The event's data as [label, value] pairs, codes named; empty values left out. */
export function eventData(e, fmt) {
  return Object.entries(e.data || {})
    .filter(([k, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length) && !covered(e, k))
    .map(([k, v]) => {
      const key = `data_${k}`;
      return [t(key) === key ? t("data_other") : t(key), dataValue(k, v, fmt)];
    });
}

/** Where a case came from: its source in words, with the source's own reference named. */
export function sourceWords(c) {
  const source = label("source", c.source);
  const id = c.external_id;
  if (!id) return source;
  let m;
  if (c.source === "iot" && (m = id.match(/^alarm-(\d+)$/))) return `${source} · ${t("alarm", { id: m[1] })}`;
  if (c.source === "systemic" && (m = id.match(/^systemic-issue-(\d+)$/))) return `${source} · ${t("systemic", { id: m[1] })}`;
  if (c.source === "vital_sign" && (m = id.match(/^[^/]+\/([^/]+)\/(.+)$/))) return `${source} · ${known("place", m[1]) ?? m[1]} · ${m[2]}`;
  return `${source} · ${id}`;
}
