// Acting on a case from any page: the buttons for the actions the API allows the caller,
// each opening a small form with the fields that action needs, and `runAction` for the
// one-click actions of the work pages (dispatch as suggested, accept …).
//
// The API decides what is allowed (`case.allowed_actions`); these forms never offer more.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { lang, pick, translator } from "./i18n.js";
import { label } from "./labels.js";
import { errorBox } from "./shell.js";

const t = translator({
  zh: {
    comment: "备注",
    target: "派往部门",
    targetCommunity: "或派往居村",
    none: "（不选）",
    correctCategory: "更正类别（可选）",
    duplicateOf: "重复的工单编号",
    replyField: "答复内容",
    reason: "原因",
    workingDays: "延期工作日数",
    departments: "被吹哨部门",
    reportInHours: "报到时限（小时）",
    ratingField: "评价",
    reportDepartment: "报到部门（可选）",
    submit: "确定",
    cancel: "取消",
    stale: "工单已被他人更新，请刷新后再试。",
    reload: "刷新",
  },
  en: {
    comment: "Comment",
    target: "Department",
    targetCommunity: "or community",
    none: "(none)",
    correctCategory: "Correct the category (optional)",
    duplicateOf: "Case id it repeats",
    replyField: "Reply",
    reason: "Reason",
    workingDays: "Working days",
    departments: "Departments to summon",
    reportInHours: "Report-in time (hours)",
    ratingField: "Rating",
    reportDepartment: "Department reporting in (optional)",
    submit: "Submit",
    cancel: "Cancel",
    stale: "Someone changed this case meanwhile; reload and try again.",
    reload: "Reload",
  },
});

// The fields each action's form asks for (besides version and comment).
export const FORM_FIELDS = {
  dispatch: ["department", "community", "category"],
  link: ["duplicate_of"],
  resolve: ["reply", "photos"],
  return: ["reason"],
  request_extension: ["working_days", "reason"],
  whistle: ["departments", "report_in_hours"],
  callback: ["rating"],
  report_in: ["report_department"],
  comment: ["photos"],
};

const NUMBER_FIELDS = ["duplicate_of", "working_days", "report_in_hours"];

/** POST one action; resolves to the updated case. `fields` = the body without version. */
export function runAction(c, action, fields = {}) {
  return api(`/api/v1/cases/${c.id}/actions/${action}`, {
    method: "POST",
    json: { version: c.version, ...fields },
  });
}

function field(labelText, control) {
  return h("label", { class: "field" }, h("span", {}, labelText), control);
}

function options(items, { empty } = {}) {
  const collator = new Intl.Collator(lang() === "zh" ? "zh-CN" : "en");
  return [
    empty ? h("option", { value: "" }, empty) : null,
    // Names only, in the page's language (the code is the option's value).
    ...[...items].sort((a, b) => collator.compare(pick(a), pick(b)))
      .map((x) => h("option", { value: x.code }, pick(x))),
  ];
}

/** The JSON body of an action form: only the fields filled in, numbers as numbers. */
export function bodyOf(form, version) {
  const data = new FormData(form);
  const body = { version };
  for (const [key, value] of data.entries()) {
    if (value === "" || value instanceof File) continue;
    if (key === "departments") {
      (body.departments ||= []).push(value);
    } else if (NUMBER_FIELDS.includes(key)) {
      body[key] = Number(value);
    } else {
      body[key] = value;
    }
  }
  return body;
}

/**
 * The form of one action on case `c`. `reference` = /api/v1/web/reference (names),
 * `me` = the user; `onDone(updatedCase)` after success, `onCancel()` on cancel.
 * `preset` fills fields in advance (e.g. the suggested department).
 */
export function actionForm({ c, action, reference, me, onDone, onCancel, preset = {} }) {
  const departments = reference?.departments || [];
  const communities = (reference?.jurisdictions || []).filter((j) => j.level === "community");
  const categories = reference?.categories || [];
  const extras = []; // pieces that add to the body on submit: {body(): object, busy(): bool}

  function control(name) {
    switch (name) {
      case "department":
        return field(t("target"), h("select", { name: "department" }, options(departments, { empty: t("none") })));
      case "community":
        return field(t("targetCommunity"), h("select", { name: "community" }, options(communities, { empty: t("none") })));
      case "category":
        return field(t("correctCategory"), h("select", { name: "category" }, options(categories, { empty: t("none") })));
      case "duplicate_of":
        return field(t("duplicateOf"), h("input", { name: "duplicate_of", type: "number", min: "1", required: true }));
      case "reply":
        return field(t("replyField"), h("textarea", { name: "reply", rows: "3", required: true }));
      case "reason":
        return field(t("reason"), h("textarea", { name: "reason", rows: "2", required: true }));
      case "working_days":
        return field(t("workingDays"), h("input", { name: "working_days", type: "number", min: "1", max: "60", value: "5", required: true }));
      case "report_in_hours":
        return field(t("reportInHours"), h("input", { name: "report_in_hours", type: "number", min: "1", max: "720" }));
      case "departments":
        return h("fieldset", { class: "field departments" }, h("legend", {}, t("departments")),
          departments.map((d) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "departments", value: d.code }), pick(d))));
      case "rating":
        return h("fieldset", { class: "field rating" }, h("legend", {}, t("ratingField")),
          ["satisfied", "basically_satisfied", "dissatisfied"].map((r) =>
            h("label", { class: "check" }, h("input", { type: "radio", name: "rating", value: r, required: true }), label("rating", r))));
      case "report_department": {
        if (me?.role === "handler") return null; // a handler reports in for its own department
        const pending = new Set((c.summonses || []).filter((x) => !x.reported_in_at).map((x) => x.department));
        const summoned = departments.filter((d) => pending.has(d.code));
        return field(t("reportDepartment"), h("select", { name: "department" }, options(summoned, { empty: t("none") })));
      }
      case "photos":
        return photosControl(extras);
      default:
        return null;
    }
  }

  const problem = h("div", { class: "form-problem" });
  const form = h("form", { class: "action-form", "data-testid": `form-${action}`, "data-action": action },
    h("h3", {}, label("action", action)),
    (FORM_FIELDS[action] || []).map(control),
    field(t("comment"), h("textarea", { name: "comment", rows: "2" })),
    h("div", { class: "form-buttons" },
      h("button", { type: "submit", class: "primary", "data-testid": "action-submit" }, t("submit")),
      onCancel ? h("button", { type: "button", onclick: onCancel }, t("cancel")) : null),
    problem);
  for (const [name, value] of Object.entries(preset)) {
    const input = form.elements.namedItem(name);
    if (input && "value" in input) input.value = value;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (extras.some((x) => x.busy())) return; // a photo is still uploading
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const body = Object.assign(bodyOf(form, c.version), ...extras.map((x) => x.body()));
      const updated = await api(`/api/v1/cases/${c.id}/actions/${action}`, { method: "POST", json: body });
      await onDone?.(updated, action);
    } catch (error) {
      if (error?.status === 401) return;
      if (error?.code === "stale_version") {
        replaceChildren(problem, h("div", { class: "error-box" }, h("p", {}, t("stale")),
          h("button", { type: "button", onclick: () => onDone?.(null) }, t("reload"))));
      } else {
        replaceChildren(problem, errorBox(error));
      }
      submit.disabled = false;
    }
  });
  return form;
}

// The photo picker is loaded only by the forms that take photos (resolve).
function photosControl(extras) {
  const slot = h("div", { class: "field photos-slot" });
  let picker = null;
  extras.push({
    body: () => (picker && picker.ids().length ? { photos: picker.ids() } : {}),
    busy: () => Boolean(picker?.busy()),
  });
  import("./photos.js").then((module) => {
    picker = module.photoPicker();
    slot.append(picker.element);
  }).catch(() => { /* no photos module: the form works without photos */ });
  return slot;
}

/**
 * Buttons for every action the caller may take on `c`, and a slot where the chosen
 * action's form opens. Returns the element. Options as for actionForm, plus `only`
 * (a list of actions to offer, in that order) and `presets` ({action: preset}).
 */
export function actionButtons({ c, reference, me, onDone, only, presets = {} }) {
  const allowed = only ? only.filter((a) => c.allowed_actions.includes(a)) : c.allowed_actions;
  const formSlot = h("div", { class: "action-form-slot" });
  const buttons = h("div", { class: "action-buttons" }, allowed.map((action) =>
    h("button", { type: "button", "data-action": action, onclick: () => open(action) }, label("action", action))));

  function close() {
    replaceChildren(formSlot);
    for (const b of buttons.querySelectorAll("button")) b.classList.remove("active");
  }

  function open(action) {
    for (const b of buttons.querySelectorAll("button")) b.classList.toggle("active", b.dataset.action === action);
    const form = actionForm({ c, action, reference, me, onDone, onCancel: close, preset: presets[action] });
    replaceChildren(formSlot, form);
    form.querySelector("select, input, textarea")?.focus();
  }
  return h("div", { class: "actions-block" }, buttons, formSlot);
}
