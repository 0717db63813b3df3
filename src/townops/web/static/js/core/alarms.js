// An alarm in words. The server writes each alarm's message in Chinese ("可燃气体浓度 12.0
// %LEL 超过 10"); in English the page words it again from the alarm's fields (rule, kind,
// quantity, value, line) and the town's sensing words (reference data: device types with
// their quantities, alarm rules). In Chinese the server's message is shown as it is.

import { lang, translator } from "./i18n.js";

const t = translator({
  zh: {},
  en: {
    threshold: "{quantity} {value}{unit} {direction} {line}",
    held: "{quantity} {value}{unit} {direction} {line} for over {seconds} s",
    rate: "{quantity} changing {value}{unit} per minute, {direction} {line}",
    offline: "Device offline: no data for over {minutes} min",
    offlineUnknown: "Device offline: no data",
    alarmCase: "IoT alarm: {rule}",
    above: "above",
    below: "below",
  },
});

let quantities = new Map(); // "device_type/quantity" → {name_zh, name_en, unit}
let rules = new Map(); // rule code → {name_zh, name_en, kind, direction, for_seconds}

/** Keeps the sensing words of the reference data ({device_types, rules}). */
export function learnSensing(sensing) {
  if (!sensing) return;
  quantities = new Map();
  for (const type of sensing.device_types || []) {
    for (const q of type.quantities || []) quantities.set(`${type.code}/${q.code}`, q);
  }
  rules = new Map((sensing.rules || []).map((r) => [r.code, r]));
}

// As the server writes numbers into its message (townops.sensing.alarms.lifecycle._number).
function number(value) {
  return Math.abs(value) >= 1 ? value.toFixed(1) : String(Number(value.toPrecision(3)));
}

function line(value) {
  return String(Number(value.toPrecision(12)));
}

/**
 * The alarm's summary in the page's language. `a` carries `message` (or `summary`), `rule`,
 * `kind` (or `rule_kind`), `quantity`, `value`, `line` and `device_type` — an alarm of the
 * API or an alarm item of the live feed. Falls back to the server's message when the
 * fields do not say enough.
 */
export function alarmSummary(a) {
  const message = a.message ?? a.summary ?? "";
  if (lang() === "zh") return message;
  const kind = a.rule_kind ?? a.kind;
  if (kind === "offline" || (a.value == null && /离线/.test(message))) {
    const minutes = message.match(/(\d+)\s*分钟/);
    return minutes ? t("offline", { minutes: minutes[1] }) : t("offlineUnknown");
  }
  const quantity = quantities.get(`${a.device_type}/${a.quantity}`);
  const rule = rules.get(a.rule);
  if (!quantity || typeof a.value !== "number" || typeof a.line !== "number" || !t(kind).includes("{")) {
    return message;
  }
  const direction = rule?.direction === "below" ? t("below") : t("above");
  const unit = quantity.unit ? ` ${quantity.unit}` : "";
  return t(kind, {
    quantity: quantity.name_en || quantity.name_zh,
    value: kind === "rate" ? `${a.value >= 0 ? "+" : ""}${a.value.toFixed(2)}` : number(a.value),
    unit,
    direction,
    line: line(a.line),
    seconds: rule?.for_seconds ?? "?",
  });
}

/**
 * A case's summary in the page's language where the system wrote it: an IoT alarm's case
 * text begins "【物联告警】{rule in Chinese}（{rule in English}）" (townops.sensing), which
 * in English is "IoT alarm: {rule}". Any other text (a person's words) is returned as is.
 */
export function caseSummary(text) {
  if (lang() === "zh" || !text) return text || "";
  const rule = text.match(/^【物联告警】[^（]*（([^）]+)）/);
  return rule ? t("alarmCase", { rule: rule[1] }) : text;
}
