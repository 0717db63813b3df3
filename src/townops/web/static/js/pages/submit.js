// 我要反映: a resident reports a problem. What (category, or "not sure": the classifier
// reads the text), the description, where (a pin on the town's map and/or an address),
// photos and a phone number; POST /api/v1/cases as a `request` from the web. Then the
// tracking code, big and copyable, with the promised date and what happens next.

import { api, cachedApi } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { lang, pick } from "../core/i18n.js";
import { photoPicker } from "../core/photos.js";
import { pinPicker } from "../core/pin.js";
import { errorBox } from "../core/shell.js";

const messages = {
  zh: {
    title: "我要反映",
    lead: "告诉我们您遇到的问题，我们会尽快安排处理。",
    category: "问题类别",
    notSure: "不确定，由系统判断",
    content: "问题描述",
    contentHint: "请写明发生了什么、持续多久、影响到谁。",
    contentMissing: "请描述问题。",
    place: "问题位置",
    placeHint: "在地图上标出位置，或填写地址（至少一项）。",
    address: "详细地址",
    addressHint: "例如：南新小区12号楼2单元门口",
    placeMissing: "请在地图上标出位置，或填写地址。",
    photos: "照片（可选）",
    phone: "联系电话（可选）",
    phoneHint: "便于承办人员联系您；其他人只能看到部分号码。",
    phoneBad: "请填写正确的电话号码。",
    submit: "提交",
    sending: "正在提交…",
    waitPhotos: "照片还在上传，请稍候。",
    doneTitle: "已收到您的反映",
    codeLabel: "请记下查询码",
    copy: "复制",
    copied: "已复制",
    copyFailed: "请手动记下查询码",
    promise: "我们承诺在 {when} 前办结并答复您。",
    nextTitle: "接下来",
    next1: "城运中心把问题交给承办单位（通常在当天）。",
    next2: "承办单位处理后给您答复，可能会先打电话联系您。",
    next3: "收到答复后，请在“我的诉求”里评价办理结果。",
    toRequests: "查看我的诉求",
    toTrack: "用查询码查询进度",
    another: "再反映一个问题",
    failed: "提交失败：",
  },
  en: {
    title: "Report a problem",
    lead: "Tell us what is wrong; we will have it dealt with soon.",
    category: "Category",
    notSure: "Not sure: let the system decide",
    content: "Description",
    contentHint: "What happened, for how long, and whom it affects.",
    contentMissing: "Please describe the problem.",
    place: "Where",
    placeHint: "Put a pin on the map or write an address (at least one).",
    address: "Address",
    addressHint: "e.g. Nanxin Estate, building 12, entrance 2",
    placeMissing: "Please put a pin on the map or write an address.",
    photos: "Photos (optional)",
    phone: "Phone (optional)",
    phoneHint: "So the unit can call you; others see only part of the number.",
    phoneBad: "Please enter a valid phone number.",
    submit: "Send",
    sending: "Sending…",
    waitPhotos: "Photos are still uploading; please wait.",
    doneTitle: "We have your request",
    codeLabel: "Please note your tracking code",
    copy: "Copy",
    copied: "Copied",
    copyFailed: "Please write the code down",
    promise: "We promise to deal with it and answer you by {when}.",
    nextTitle: "What happens next",
    next1: "The operations centre passes it to the unit in charge (usually the same day).",
    next2: "The unit deals with it and answers you; it may call you first.",
    next3: "Once answered, please rate the result under “My requests”.",
    toRequests: "See my requests",
    toTrack: "Track it with the code",
    another: "Report another problem",
    failed: "Could not send: ",
  },
};

// Categories only townops itself opens (device alarms, vital-sign warnings). The reference
// says so with `opened_by` where it carries it; the code prefixes are the fallback.
function openedByPeople(category) {
  if (category.opened_by) return category.opened_by !== "townops";
  return !/^(iot_|vital_sign_)/.test(category.code);
}

const PHONE = /^\+?[\d\s-]{5,20}$/;

function field({ id, label, hint, control, problem }) {
  return h("div", { class: "field", "data-field": id },
    h("label", { for: id, class: "field-label" }, label),
    control,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    problem);
}

async function render({ main, t, me, fmt, setTitle }) {
  await useStyle("../../css/resident.css", import.meta.url);
  setTitle(t("title"));
  const reference = await cachedApi("/api/v1/web/reference");
  const collator = new Intl.Collator(lang() === "zh" ? "zh-CN" : "en");
  const categories = reference.categories.filter(openedByPeople).sort((a, b) => collator.compare(pick(a), pick(b)));

  const problems = {};
  const problemFor = (name) => (problems[name] = h("p", { class: "field-error", id: `${name}-error`, role: "alert", "data-testid": `error-${name}` }));

  const category = h("select", { id: "category", name: "category", "data-testid": "category" },
    h("option", { value: "" }, t("notSure")),
    categories.map((c) => h("option", { value: c.code }, pick(c))));
  const content = h("textarea", {
    id: "content", name: "content", rows: "4", maxlength: "5000", required: true,
    "data-testid": "content", "aria-describedby": "content-hint content-error",
  });
  const address = h("input", {
    id: "address", name: "address", maxlength: "300", autocomplete: "street-address",
    "data-testid": "address", placeholder: t("addressHint"), "aria-describedby": "place-error",
  });
  const phone = h("input", {
    id: "phone", name: "phone", type: "tel", maxlength: "20", autocomplete: "tel",
    "data-testid": "phone", value: me?.phone || "", "aria-describedby": "phone-hint phone-error",
  });
  const pin = pinPicker({ t });
  const photos = photoPicker({ max: 9 });
  const submit = h("button", { type: "submit", class: "primary big", "data-testid": "submit" }, t("submit"));
  const formProblem = h("div", { class: "form-problem", "data-testid": "form-problem" });

  const form = h("form", { class: "card submit-form", "data-testid": "submit-form", novalidate: true },
    field({ id: "category", label: t("category"), control: category }),
    field({ id: "content", label: t("content"), hint: t("contentHint"), control: content, problem: problemFor("content") }),
    h("fieldset", { class: "field place", "data-field": "place" },
      h("legend", { class: "field-label" }, t("place")),
      h("p", { class: "hint" }, t("placeHint")),
      pin.element,
      h("label", { for: "address", class: "field-label sub" }, t("address")),
      address,
      problemFor("place")),
    h("div", { class: "field", "data-field": "photos" },
      h("span", { class: "field-label" }, t("photos")), photos.element),
    field({ id: "phone", label: t("phone"), hint: t("phoneHint"), control: phone, problem: problemFor("phone") }),
    h("div", { class: "form-buttons" }, submit),
    formProblem);

  replaceChildren(main, h("section", { class: "resident submit" },
    h("div", { class: "page-head" }, h("h1", {}, t("title"))),
    h("p", { class: "lead" }, t("lead")),
    form));

  function flag(name, text, control) {
    problems[name].textContent = text || "";
    if (control) {
      if (text) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    return !text;
  }

  function check() {
    const good = [
      flag("content", content.value.trim() ? "" : t("contentMissing"), content),
      flag("place", pin.value() || address.value.trim() ? "" : t("placeMissing"), address),
      flag("phone", !phone.value.trim() || PHONE.test(phone.value.trim()) ? "" : t("phoneBad"), phone),
    ];
    return good.every(Boolean);
  }

  pin.onChange(() => {
    if (pin.value()) flag("place", "", address);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replaceChildren(formProblem);
    if (!check()) {
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    if (photos.busy()) {
      replaceChildren(formProblem, h("p", { class: "field-error" }, t("waitPhotos")));
      return;
    }
    const body = {
      kind: "request",
      source: "web",
      content: content.value.trim(),
      address: address.value.trim(),
    };
    if (category.value) body.category = category.value;
    const point = pin.value();
    if (point) Object.assign(body, { lat: point.lat, lon: point.lon });
    if (phone.value.trim()) body.requester_phone = phone.value.trim();
    if (photos.ids().length) body.photos = photos.ids();
    submit.disabled = true;
    submit.textContent = t("sending");
    try {
      const created = await api("/api/v1/cases", { method: "POST", json: body });
      done(created);
    } catch (error) {
      if (error?.status === 401) return;
      replaceChildren(formProblem, h("p", { class: "field-error" }, t("failed")), errorBox(error));
      submit.disabled = false;
      submit.textContent = t("submit");
    }
  });

  function done(c) {
    const code = h("output", { class: "tracking-code", "data-testid": "tracking-code" }, c.token);
    const copyState = h("span", { class: "copy-state", role: "status" });
    const copy = h("button", { type: "button", class: "copy", "data-testid": "copy-code" }, t("copy"));
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(c.token);
        copyState.textContent = t("copied");
      } catch {
        // No clipboard (an http page, or refused): select the code so it can be copied by hand.
        getSelection()?.selectAllChildren(code);
        copyState.textContent = t("copyFailed");
      }
    });
    const trackHref = `/track?code=${encodeURIComponent(c.token)}`;
    replaceChildren(main, h("section", { class: "resident submit-done", "data-testid": "submit-done", "data-case-id": c.id },
      h("div", { class: "card done-card" },
        h("h1", {}, t("doneTitle")),
        h("p", { class: "code-label" }, t("codeLabel")),
        h("div", { class: "code-box" }, code, copy, copyState),
        h("p", { class: "promise", "data-testid": "promise" }, t("promise", { when: fmt.dateTime(c.due_at) })),
        h("h2", {}, t("nextTitle")),
        h("ol", { class: "next-steps" }, h("li", {}, t("next1")), h("li", {}, t("next2")), h("li", {}, t("next3"))),
        h("div", { class: "done-links" },
          h("a", { class: "button primary", href: "/requests", "data-testid": "to-requests" }, t("toRequests")),
          h("a", { class: "button", href: trackHref, "data-testid": "to-track" }, t("toTrack")),
          h("a", { class: "button", href: "/submit", "data-testid": "another" }, t("another"))))));
    window.scrollTo(0, 0);
  }

  await pin.ready;
}

export default { messages, render };
