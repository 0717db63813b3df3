// 上报: a grid worker or community staff member reports a problem found on patrol, from a
// phone: where (the phone's position, or an address), what (a description, a category or
// "let the system decide"), photos. The answer says which case it became and where the
// system sent it. Below: the worker's recent reports.

import { api } from "../core/api.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { loadReference } from "../core/reference.js";
import { lang, pick } from "../core/i18n.js";
import { errorBox, fieldWords, problemWords, refusalText, stateBadge } from "../core/shell.js";

const messages = {
  zh: {
    title: "上报",
    heading: "巡查上报",
    lead: "发现问题，拍照上报",
    myArea: "我的辖区：{name}",
    location: "位置",
    useLocation: "使用当前位置",
    locating: "正在定位…",
    clearLocation: "不用定位",
    accuracy: "精度约 {m} 米",
    inside: "位于",
    outsideTown: "该位置不在{town}范围内，不会使用定位。请在下方填写地址。",
    outsideScope: "该位置不在您的辖区（{scope}）内，提交可能被拒绝。",
    unknownPlace: "已定位，但暂时无法判断所在辖区。",
    denied: "无法定位：定位权限被拒绝。请在下方填写地址，或在浏览器设置中允许定位。",
    unavailable: "无法定位：设备暂时取不到位置。请在下方填写地址。",
    timeout: "定位超时。请重试，或在下方填写地址。",
    noGeolocation: "此浏览器不支持定位。请在下方填写地址。",
    insecure: "定位需要安全连接（HTTPS），当前连接无法定位。请在下方填写地址。",
    category: "类别",
    optional: "（可选）",
    systemDecides: "由系统判断",
    content: "问题描述",
    contentPlaceholder: "例如：南新路12号门口垃圾堆放，已两天未清运",
    contentRequired: "请描述发现的问题。",
    address: "地址",
    addressPlaceholder: "路名门牌、小区楼号或地标",
    photos: "照片",
    photosHint: "最多 9 张",
    photosBusy: "照片还在上传，请稍候再提交。",
    submit: "提交上报",
    sending: "正在提交…",
    problem: "提交未成功",
    refused: "此项未被接受：{why}",
    refusedOutside: "未能上报：该位置不在您的辖区（{scope}）内。请在辖区内重新定位，或点“不用定位”后填写辖区内的地址。",
    refusedOutsideAt: "未能上报：该位置在{place}，不在您的辖区（{scope}）内。请在辖区内重新定位，或点“不用定位”后填写辖区内的地址。",
    done: "已上报",
    caseId: "工单编号",
    token: "查询码",
    chosenCategory: "类别",
    bySystem: "（系统判断）",
    routedTo: "去向",
    routedAuto: "系统已自动派往 {name}",
    routedManual: "已派往 {name}",
    queued: "等待派单员派单",
    place: "所在辖区",
    state: "状态",
    view: "查看工单",
    again: "继续上报",
    recent: "我上报的",
    recentNone: "还没有上报记录。",
  },
  en: {
    title: "Report",
    heading: "Report from patrol",
    lead: "Found a problem? Report it with a photo",
    myArea: "My area: {name}",
    location: "Location",
    useLocation: "Use my current location",
    locating: "Locating…",
    clearLocation: "Do not use it",
    accuracy: "accurate to about {m} m",
    inside: "In",
    outsideTown: "This position is outside {town}; it will not be used. Please type an address below.",
    outsideScope: "This position is outside your area ({scope}); the report may be refused.",
    unknownPlace: "Located, but the area could not be looked up just now.",
    denied: "No location: permission was denied. Type an address below, or allow location in the browser's settings.",
    unavailable: "No location: the device cannot get a position now. Please type an address below.",
    timeout: "Locating took too long. Try again, or type an address below.",
    noGeolocation: "This browser cannot locate. Please type an address below.",
    insecure: "Locating needs a secure (HTTPS) connection, which this one is not. Please type an address below.",
    category: "Category",
    optional: "(optional)",
    systemDecides: "Let the system decide",
    content: "What is wrong",
    contentPlaceholder: "e.g. rubbish piled at No. 12 Nanxin Road, not collected for two days",
    contentRequired: "Please describe the problem.",
    address: "Address",
    addressPlaceholder: "Road and number, or a landmark",
    photos: "Photos",
    photosHint: "up to 9",
    photosBusy: "A photo is still uploading; submit again in a moment.",
    submit: "Submit report",
    sending: "Sending…",
    problem: "The report was not accepted",
    refused: "Not accepted: {why}",
    refusedOutside: "Not reported: this place is outside your area ({scope}). Locate yourself inside your area again, or choose “Do not use it” and type an address in your area.",
    refusedOutsideAt: "Not reported: this place is in {place}, outside your area ({scope}). Locate yourself inside your area again, or choose “Do not use it” and type an address in your area.",
    done: "Reported",
    caseId: "Case",
    token: "Tracking code",
    chosenCategory: "Category",
    bySystem: "(chosen by the system)",
    routedTo: "Sent to",
    routedAuto: "sent by the system to {name}",
    routedManual: "sent to {name}",
    queued: "waiting for a dispatcher",
    place: "Area",
    state: "State",
    view: "View the case",
    again: "Report another",
    recent: "My reports",
    recentNone: "No reports yet.",
  },
};

const MAX_PHOTOS = 9;
const RECENT = 10;
// High accuracy on a phone means GPS, which may need a while outdoors before a first fix.
const GEO_OPTIONS = { enableHighAccuracy: true, timeout: 20_000, maximumAge: 30_000 };
const FIELDS = ["content", "category", "address", "lat", "lon", "photos"];

function currentPosition() {
  return new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition(resolve, reject, GEO_OPTIONS));
}

async function render({ main, t, fmt, me, config, setTitle }) {
  await useStyle("../../css/inbox.css", import.meta.url);
  setTitle(t("title"));
  const { raw: reference, categories, departments, places } = await loadReference();
  const nameOf = (map, code) => (code && map.get(code) ? pick(map.get(code)) : "");
  const town = config?.town ? pick(config.town) : "";

  /** A place and every place above it (the reference names each node's parent). */
  function lineage(code) {
    const codes = [];
    for (let at = code; at && !codes.includes(at); at = places.get(at)?.parent) codes.push(at);
    return codes;
  }

  let position = null; // {lat, lon} once a usable fix is found
  let picker = null;
  let sending = false;

  // ---- the form
  const errors = Object.fromEntries(FIELDS.map((f) => [f, h("p", { class: "field-error", id: `error-${f}`, "data-testid": `error-${f}` })]));
  const locateButton = h("button", { type: "button", class: "locate primary", "data-testid": "locate", onclick: useLocation }, t("useLocation"));
  const clearButton = h("button", { type: "button", class: "clear-location", hidden: true, onclick: clearLocation }, t("clearLocation"));
  const locationStatus = h("div", { class: "location-status", role: "status", "data-testid": "location-status" });
  const category = h("select", { name: "category", id: "report-category", "data-testid": "category", "aria-describedby": "error-category" },
    h("option", { value: "" }, t("systemDecides")),
    personCategories().map((c) => h("option", { value: c.code }, pick(c))));
  const content = h("textarea", {
    name: "content", id: "report-content", rows: "4", maxlength: "5000", required: true,
    placeholder: t("contentPlaceholder"), "data-testid": "content", "aria-describedby": "error-content",
  });
  const address = h("input", {
    name: "address", id: "report-address", type: "text", maxlength: "300", autocomplete: "street-address",
    placeholder: t("addressPlaceholder"), "data-testid": "address", "aria-describedby": "error-address",
  });
  const photoSlot = h("div", { class: "photo-slot", "data-testid": "photos" });
  const photosField = h("fieldset", { class: "field photos", hidden: true },
    h("legend", {}, t("photos"), " ", h("span", { class: "optional" }, t("photosHint"))), photoSlot, errors.photos);
  const submit = h("button", { type: "submit", class: "primary send", "data-testid": "report-submit" }, t("submit"));
  const problem = h("div", { class: "form-problem", "data-testid": "form-problem" });

  const form = h("form", { class: "report-form card", "data-testid": "report-form", novalidate: true },
    h("fieldset", { class: "field" },
      h("legend", {}, t("location")),
      h("div", { class: "locate-row" }, locateButton, clearButton),
      locationStatus, errors.lat, errors.lon),
    h("label", { class: "field", for: "report-content" }, h("span", {}, t("content")), content, errors.content),
    h("label", { class: "field", for: "report-address" },
      h("span", {}, t("address"), " ", h("span", { class: "optional" }, t("optional"))), address, errors.address),
    h("label", { class: "field", for: "report-category" },
      h("span", {}, t("category"), " ", h("span", { class: "optional" }, t("optional"))), category, errors.category),
    photosField,
    problem,
    submit);
  form.addEventListener("submit", send);

  const result = h("section", { class: "card report-result", hidden: true, "data-testid": "report-result", "aria-live": "polite" });
  const recentList = h("ol", { class: "recent-list", "data-testid": "recent-list" });
  const scopeName = nameOf(places, me?.scope);
  replaceChildren(main, h("div", { class: "report", "data-testid": "report" },
    h("div", { class: "page-head" },
      h("h1", {}, t("heading")),
      h("span", { class: "muted" }, scopeName ? t("myArea", { name: scopeName }) : t("lead"))),
    h("div", { class: "report-layout" },
      h("div", { class: "report-main" }, form, result),
      h("section", { class: "card recent" }, h("h2", {}, t("recent")), recentList))));

  import("../core/photos.js").then((module) => {
    picker = module.photoPicker({ max: MAX_PHOTOS });
    photoSlot.append(picker.element);
    photosField.hidden = false;
  }).catch(() => { /* no photo module: reports go without photos */ });

  /** Categories a person may file: the ones townops opens itself (alarms, warnings) are not. */
  function personCategories() {
    const collator = new Intl.Collator(lang() === "zh" ? "zh-CN" : "en");
    return (reference?.categories || [])
      .filter((c) => c.opened_by !== "townops")
      .sort((a, b) => collator.compare(pick(a), pick(b)));
  }

  // ---- location
  function showLocation(kind, ...children) {
    locationStatus.className = `location-status ${kind}`;
    locationStatus.dataset.state = kind;
    replaceChildren(locationStatus, ...children);
  }

  async function useLocation() {
    // Browsers give positions to secure pages only; over plain HTTP every try is "denied".
    const missing = !window.isSecureContext ? "insecure" : !("geolocation" in navigator) ? "noGeolocation" : null;
    if (missing) {
      showLocation("warn", t(missing));
      locationStatus.dataset.state = "unsupported";
      address.focus();
      return;
    }
    locateButton.disabled = true;
    showLocation("busy", t("locating"));
    position = null;
    try {
      const fix = await currentPosition();
      await placeFix(fix.coords);
    } catch (error) {
      const reason = { 1: "denied", 2: "unavailable", 3: "timeout" }[error?.code] || "unavailable";
      showLocation("warn", t(reason));
      locationStatus.dataset.state = reason;
      address.focus();
    } finally {
      locateButton.disabled = false;
    }
  }

  async function placeFix({ latitude, longitude, accuracy }) {
    const lat = Number(latitude.toFixed(6));
    const lon = Number(longitude.toFixed(6));
    const coords = h("span", { class: "coords", "data-testid": "coords" },
      `${lat.toFixed(5)}, ${lon.toFixed(5)}`,
      Number.isFinite(accuracy) ? ` · ${t("accuracy", { m: Math.round(accuracy) })}` : "");
    let found;
    try {
      found = await api("/api/v1/locate", { query: { lat, lon } });
    } catch (error) {
      if (error?.status === 401) return;
      position = { lat, lon }; // the server places the case itself from the point
      showLocation("ok", t("unknownPlace"), " ", coords);
      clearButton.hidden = false;
      return;
    }
    if (!found.best) {
      showLocation("warn", t("outsideTown", { town: town || "—" }), " ", coords);
      locationStatus.dataset.state = "outside";
      address.focus();
      return;
    }
    position = { lat, lon };
    const best = found.best;
    const names = [nameOf(places, best.community_code) || best.community_name,
      best.code !== best.community_code ? nameOf(places, best.code) || best.jurisdiction_name : null].filter(Boolean);
    const inScope = !me?.scope || lineage(best.code).includes(me.scope);
    showLocation(inScope ? "ok" : "warn",
      h("span", { class: "place", "data-testid": "place", "data-code": best.code }, names.join(" · ")),
      coords,
      inScope ? null : h("p", { class: "scope-warning" }, t("outsideScope", { scope: nameOf(places, me.scope) || me.scope })));
    clearButton.hidden = false;
  }

  function clearLocation() {
    position = null;
    clearButton.hidden = true;
    showLocation("");
    delete locationStatus.dataset.state;
  }

  // ---- sending
  function clearErrors() {
    for (const el of Object.values(errors)) el.textContent = "";
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    replaceChildren(problem);
  }

  function fieldError(name, text) {
    const slot = errors[name];
    if (!slot) return false;
    slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
    form.elements.namedItem(name)?.setAttribute?.("aria-invalid", "true");
    return true;
  }

  /**
   * The API's refusal, explained in the page's language: each problem next to its field,
   * and always a box by the submit button saying why the report was not accepted (on a
   * phone the field may be a screen away).
   */
  function showProblems(error) {
    const details = error?.details || {};
    const unplaced = [];
    for (const p of details.problems || []) {
      const name = String(p.field || "").replace(/^body\./, "").split(".")[0];
      if (!fieldError(name, problemWords(p.problem))) unplaced.push(p);
    }
    let why = refusalText(error);
    if (error?.status === 403 && details.jurisdiction) {
      // The point lies outside the worker's own area: say so where the location is.
      const place = nameOf(places, details.jurisdiction);
      const scope = nameOf(places, me?.scope) || me?.scope || "";
      why = place ? t("refusedOutsideAt", { place, scope }) : t("refusedOutside", { scope });
      fieldError("lat", why);
      locationStatus.dataset.state = "refused";
    } else if (details.field && !(details.problems || []).length) {
      fieldError(String(details.field).replace(/^body\./, ""), t("refused", { why }));
    }
    replaceChildren(problem, h("div", { class: "error-box", role: "alert", "data-testid": "error", "data-code": error?.code || null },
      h("strong", {}, t("problem")),
      h("p", { "data-testid": "refusal" }, why),
      unplaced.length ? h("ul", {}, unplaced.map((p) => h("li", {}, `${fieldWords(p.field)}: ${problemWords(p.problem)}`))) : null));
    const invalid = form.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
    else if (details.jurisdiction) errors.lat.scrollIntoView({ block: "center" });
    else problem.scrollIntoView({ block: "center" });
  }

  function body() {
    const out = { kind: "patrol", source: "web", content: content.value.trim(), address: address.value.trim() };
    if (category.value) out.category = category.value;
    if (position) Object.assign(out, position);
    const photos = picker ? picker.ids() : [];
    if (photos.length) out.photos = photos;
    return out;
  }

  async function send(event) {
    event.preventDefault();
    // Set before any await: a second click while this one is on its way does nothing.
    if (sending) return;
    clearErrors();
    if (!content.value.trim()) {
      fieldError("content", t("contentRequired"));
      content.focus();
      return;
    }
    if (picker?.busy()) {
      fieldError("photos", t("photosBusy"));
      return;
    }
    sending = true;
    submit.disabled = true;
    submit.textContent = t("sending");
    try {
      const c = await api("/api/v1/cases", { method: "POST", json: body() });
      showResult(c);
      loadRecent();
    } catch (error) {
      if (error?.status !== 401) showProblems(error);
    } finally {
      sending = false;
      submit.disabled = false;
      submit.textContent = t("submit");
    }
  }

  function destination(c) {
    const target = nameOf(departments, c.department) || nameOf(places, c.assignee_community);
    if (!target) return t("queued");
    return c.routing?.automatic ? t("routedAuto", { name: target }) : t("routedManual", { name: target });
  }

  function showResult(c) {
    const categoryName = pick(c, "category_name") || nameOf(categories, c.category) || c.category;
    const bySystem = c.routing?.category_source === "classifier";
    const place = [nameOf(places, c.community), c.jurisdiction !== c.community ? nameOf(places, c.jurisdiction) : ""].filter(Boolean).join(" · ");
    const rows = [
      ["caseId", h("a", { href: `/cases/${c.id}`, "data-testid": "result-case-id" }, `#${c.id}`)],
      ["token", h("code", { "data-testid": "result-token" }, c.token)],
      ["chosenCategory", h("span", { "data-testid": "result-category" }, categoryName, bySystem ? ` ${t("bySystem")}` : "")],
      ["routedTo", h("span", { "data-testid": "result-routed" }, destination(c))],
      ["place", place || null],
      ["state", stateBadge(c.state)],
    ].filter(([, v]) => v);
    replaceChildren(result,
      h("h2", {}, `✓ ${t("done")}`),
      h("dl", {}, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value)])),
      h("div", { class: "links" },
        h("a", { href: `/cases/${c.id}`, "data-testid": "view-case" }, t("view")),
        h("button", { type: "button", "data-testid": "report-again", onclick: again }, t("again"))));
    result.dataset.caseId = String(c.id);
    result.hidden = false;
    form.hidden = true;
    result.scrollIntoView({ block: "start" });
  }

  function again() {
    form.reset();
    picker?.reset();
    clearLocation();
    clearErrors();
    result.hidden = true;
    delete result.dataset.caseId;
    form.hidden = false;
    form.scrollIntoView({ block: "start" });
    locateButton.focus();
  }

  // ---- my recent reports
  async function loadRecent() {
    try {
      const data = await api("/api/v1/cases", { query: { kind: "patrol", order: "-received_at", page_size: RECENT } });
      replaceChildren(recentList, data.items.length
        ? data.items.map(recentRow)
        : h("li", { class: "empty" }, t("recentNone")));
    } catch (error) {
      if (error?.status !== 401) replaceChildren(recentList, h("li", {}, errorBox(error, loadRecent)));
    }
  }

  function recentRow(c) {
    const categoryName = pick(c, "category_name") || nameOf(categories, c.category) || c.category;
    return h("li", { "data-case-id": c.id },
      h("a", { href: `/cases/${c.id}` },
        h("div", { class: "row-top" },
          h("strong", { class: "id" }, `#${c.id}`),
          h("span", { class: "category" }, categoryName),
          stateBadge(c.state),
          h("span", { class: "when" }, fmt.when(c.received_at))),
        h("p", { class: "content" }, c.content.length > 60 ? `${c.content.slice(0, 59)}…` : c.content)));
  }

  await loadRecent();
}

export default { messages, render };
