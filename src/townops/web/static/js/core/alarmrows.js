// Device alarms as rows a person can act on: the alarm console (告警台, pages/alarms.js)
// and a device's page (pages/device.js) draw the same row with the same buttons.
//
// A row shows what the API says of an alarm (GET /api/v1/alarms): severity, rule, state,
// the value that raised it (core/alarms.js words it), its age, the device and its place,
// the household as the API masks it (never unmasked here), the case, the note. Its
// buttons — 确认 acknowledge, 现场核实 verify on site, 误报 false alarm — show only when
// the API says the caller may act (`may_act`) and the state allows; verify and false
// alarm ask for a note first. Each is one POST; the answer (the alarm as it now is) goes
// to `onChange`, which redraws the row in place. A refusal is explained in the row.

import { api } from "./api.js";
import { alarmSummary } from "./alarms.js";
import { h, replaceChildren } from "./dom.js";
import { pick, translator } from "./i18n.js";
import { known, label } from "./labels.js";
import { errorBox } from "./shell.js";

const t = translator({
  zh: {
    acknowledge: "确认",
    verify: "现场核实",
    false_alarm: "误报",
    verifyNote: "现场核实情况（必填）",
    verifyHint: "例如：厨房有燃气味，已关闭总阀",
    falseNote: "误报原因（必填）",
    falseHint: "例如：现场无异味，设备受油烟干扰",
    submit: "提交",
    cancel: "取消",
    noteRequired: "请填写说明后再提交。",
    caseLink: "工单 #{id}",
    noCase: "未立案",
    masked: "（已脱敏）",
    note: "说明：{text}",
    householdIs: "住户：{text}",
    ago: "{d}前",
    justNow: "刚刚",
    refused: "未能完成",
    stateNow: "该告警当前为「{state}」，不能{done}。列表将自动刷新，也可刷新页面查看最新状态。",
    done_acknowledge: "确认",
    done_verify: "现场核实",
    done_false_alarm: "标为误报",
    closedBy: "{who} · {when}",
    system: "系统",
  },
  en: {
    acknowledge: "Acknowledge",
    verify: "Verify on site",
    false_alarm: "False alarm",
    verifyNote: "What was found on site (required)",
    verifyHint: "e.g. smell of gas in the kitchen, main valve closed",
    falseNote: "Why it is a false alarm (required)",
    falseHint: "e.g. no smell on site, sensor disturbed by cooking fumes",
    submit: "Submit",
    cancel: "Cancel",
    noteRequired: "Please write a note first.",
    caseLink: "Case #{id}",
    noCase: "no case",
    masked: "(masked)",
    note: "Note: {text}",
    householdIs: "Household: {text}",
    ago: "{d} ago",
    justNow: "just now",
    refused: "Not done",
    stateNow: "This alarm is now “{state}”: it cannot be {done}. The list refreshes by itself, or reload the page.",
    done_acknowledge: "acknowledged",
    done_verify: "verified",
    done_false_alarm: "marked a false alarm",
    closedBy: "{who} · {when}",
    system: "System",
  },
});

/** Severity order of the console: critical first. */
export const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };

// The API's paths of the three actions, and which states allow each (as the server's
// lifecycle: a verified alarm is real, it cannot be called false any more).
const ACTIONS = {
  acknowledge: { path: "acknowledge", from: ["raised"], note: false },
  verify: { path: "verify", from: ["raised", "acknowledged"], note: true },
  false_alarm: { path: "false-alarm", from: ["raised", "acknowledged"], note: true },
};

/** Sorts alarms critical first, then the newest first. */
export function bySeverity(a, b) {
  const rank = (x) => SEVERITY_RANK[x.severity] ?? 3;
  return rank(a) - rank(b) || String(b.raised_at).localeCompare(String(a.raised_at)) || b.id - a.id;
}

/** How long ago `iso` was, in words ("3分钟前" / "3 min ago"). */
export function ageText(iso, fmt, now = Date.now()) {
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  return seconds < 60 ? t("justNow") : t("ago", { d: fmt.duration(seconds) });
}

/** The alarm's place: community, building, address (as the API gives them: masked). */
export function placeText(a) {
  const community = known("place", a.community) ?? known("place", a.jurisdiction) ?? "";
  const parts = [community, a.building, a.address && a.address !== a.building ? a.address : ""];
  return parts.filter(Boolean).join(" · ");
}

function householdText(a) {
  if (!a.household) return null;
  const text = [a.household.name, a.household.phone].filter(Boolean).join(" ");
  return t("householdIs", { text: `${text}${a.household.masked ? ` ${t("masked")}` : ""}` });
}

function ruleName(a) {
  return pick(a, "rule_name") || known("alarm_rule", a.rule) || a.rule;
}

function deviceName(a) {
  return known("device_type", a.device_type) ?? a.device_type;
}

/**
 * An alarm as an <li> with its buttons. options: {fmt, onChange(alarm), deviceLink (true:
 * the device id links to its page), closed (a closed alarm: who closed it and when)}.
 */
export function alarmRow(a, { fmt, onChange, deviceLink = true }) {
  const slot = h("div", { class: "alarm-error" });
  const device = deviceLink
    ? h("a", { href: `/devices/${encodeURIComponent(a.device_id)}`, "data-testid": "device-link" }, a.device_id)
    : h("span", {}, a.device_id);
  const when = a.open ? a.raised_at : a.closed_at || a.raised_at;
  const closer = a.closed_by === "system" ? t("system") : a.closed_by;
  const li = h("li", {
    class: ["alarm-row", `sev-${a.severity}`, `state-${a.state}`, a.open ? "open" : "closed"],
    "data-alarm-id": a.id,
    "data-severity": a.severity,
    "data-state": a.state,
  },
    h("div", { class: "alarm-head" },
      h("span", { class: `badge sev sev-${a.severity}`, "data-testid": "severity" }, label("severity", a.severity)),
      h("strong", { class: "alarm-rule" }, ruleName(a)),
      h("span", { class: `badge alarm-state state-${a.state}`, "data-testid": "alarm-state" }, label("alarm", a.state)),
      a.open
        ? h("time", { class: "age", datetime: a.raised_at, title: fmt.dateTime(a.raised_at), "data-age": a.raised_at }, ageText(a.raised_at, fmt))
        : h("time", { class: "age", datetime: when }, t("closedBy", { who: closer || "—", when: fmt.when(when) }))),
    h("p", { class: "alarm-summary", "data-testid": "alarm-summary" }, alarmSummary(a)),
    h("p", { class: "alarm-where" },
      h("span", {}, `${deviceName(a)} `, device, a.device_model ? ` (${a.device_model})` : ""),
      placeText(a) ? h("span", { class: "alarm-place", "data-testid": "alarm-place" }, placeText(a)) : null,
      householdText(a) ? h("span", { class: "alarm-household", "data-testid": "household" }, householdText(a)) : null,
      a.case_id
        ? h("a", { href: `/cases/${a.case_id}`, class: "alarm-case", "data-testid": "case-link" }, t("caseLink", { id: a.case_id }))
        : h("span", { class: "muted" }, t("noCase"))),
    a.note ? h("p", { class: "alarm-note", "data-testid": "alarm-note" }, t("note", { text: a.note })) : null,
  );
  const actions = actionsOf(a, li, slot, onChange);
  if (actions) li.append(actions);
  li.append(slot);
  return li;
}

function actionsOf(a, li, slot, onChange) {
  if (!a.may_act || !a.open) return null;
  const possible = Object.entries(ACTIONS).filter(([, spec]) => spec.from.includes(a.state));
  if (!possible.length) return null;
  const bar = h("div", { class: "alarm-actions", "data-testid": "alarm-actions" });
  for (const [action, spec] of possible) {
    bar.append(h("button", {
      type: "button",
      class: action === "false_alarm" ? null : "primary",
      "data-action": action,
      onclick: () => (spec.note ? openForm(a, action, li, bar, slot, onChange) : run(a, action, {}, li, bar, slot, onChange)),
    }, t(action)));
  }
  return bar;
}

// Verify and false alarm ask what was found: a note, required (the API refuses an empty one).
function openForm(a, action, li, bar, slot, onChange) {
  li.querySelector(".alarm-form")?.remove();
  const note = h("textarea", { name: "note", rows: 2, maxlength: 500, "aria-required": "true", placeholder: t(action === "verify" ? "verifyHint" : "falseHint") });
  const form = h("form", { class: "alarm-form", "data-testid": `form-${action}` },
    h("label", {}, h("span", {}, t(action === "verify" ? "verifyNote" : "falseNote")), note),
    h("div", { class: "alarm-form-buttons" },
      h("button", { type: "submit", class: "primary", "data-testid": "alarm-submit" }, t("submit")),
      h("button", { type: "button", onclick: () => { form.remove(); delete li.dataset.busy; } }, t("cancel"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!note.value.trim()) {
      replaceChildren(slot, h("p", { class: "form-message error" }, t("noteRequired")));
      note.focus();
      return;
    }
    run(a, action, { note: note.value.trim() }, li, bar, slot, onChange);
  });
  li.dataset.busy = "1"; // a refresh keeps a row whose form is open
  bar.after(form);
  note.focus();
}

async function run(a, action, body, li, bar, slot, onChange) {
  const buttons = li.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  replaceChildren(slot);
  try {
    const updated = await api(`/api/v1/alarms/${a.id}/${ACTIONS[action].path}`, {
      method: "POST",
      json: action === "acknowledge" ? undefined : body,
    });
    delete li.dataset.busy;
    onChange(updated, action);
  } catch (error) {
    if (error?.status === 401) return;
    buttons.forEach((b) => { b.disabled = false; });
    replaceChildren(slot, error?.code === "illegal_transition" ? stateRefusal(error, action) : errorBox(error));
  }
}

// The engine's words for a refused state change speak of a case; an alarm's are said here
// (someone else acknowledged it, or it cleared, meanwhile).
function stateRefusal(error, action) {
  const state = label("alarm", error.details?.state);
  const text = t("stateNow", { state, done: t(`done_${action}`) });
  return h("div", { class: "error-box", role: "alert", "data-testid": "error", "data-code": error.code },
    h("strong", {}, t("refused")), h("p", {}, text));
}

// ---- a short sound for a new critical alarm (Web Audio: nothing is downloaded)

const SOUND_KEY = "townops.alarmSound";
let audio = null;

export function soundWanted() {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

/** Remembers the choice; switching on must happen in a click (browsers block autoplay). */
export function setSound(on) {
  try {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
  if (on) unlockAudio();
}

/** Creates or resumes the audio context; call it from a user's gesture. */
export function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  audio ??= new Context();
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

/** Two short falling tones, about half a second. */
export function beep() {
  if (!audio || audio.state !== "running") return false;
  const start = audio.currentTime + 0.02;
  [[880, 0], [660, 0.22]].forEach(([frequency, offset]) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "sine";
    tone.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.2);
    tone.connect(gain).connect(audio.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.22);
  });
  return true;
}
