// The frame around every page: the header (town, navigation, user, language, log-out)
// and small shared pieces (error boxes, state badges).

import { bell } from "./bell.js";
import { h, replaceChildren } from "./dom.js";
import { lang, pick, switchLang, translator } from "./i18n.js";
import { known, label } from "./labels.js";
import { OVERVIEW_ROLES, PAGE_ROLES, logout } from "./session.js";

const t = translator({
  zh: {
    brand: "一网统管",
    overview: "一屏总览",
    dispatch: "派单台",
    inbox: "待办",
    report: "上报",
    submit: "我要反映",
    requests: "我的诉求",
    rankings: "考核排名",
    duty: "值班表",
    alarms: "告警台",
    home: "工单",
    logout: "退出",
    switch: "English",
    switchTitle: "Switch to English",
    error: "出错了",
    refused: "未能完成",
    forbidden: "您的角色无权查看此页面。",
    notFound: "没有找到，或您无权查看。",
    retry: "重试",
    // The API's messages are English with codes in them: a refusal is worded here, in
    // both languages, by its code and details, or by the known sentence.
    stale_version: "工单已被他人更新，请刷新后再试。",
    illegal_transition: "工单当前状态不允许此操作，请刷新查看最新状态。",
    illegalIn: "工单当前为「{state}」，不能{action}。请刷新查看最新状态。",
    conflict: "与现有数据冲突，请刷新后再试。",
    duplicate: "该记录已存在。",
    too_many_requests: "操作过于频繁，请稍后再试。",
    unauthenticated: "登录已失效，请重新登录。",
    payload_too_large: "提交的内容过大。",
    invalid_input: "填写的内容有误：{field}",
    invalidForm: "填写的内容有误，请检查后再提交。",
    busy: "系统繁忙，请稍后再试。",
    server: "服务器出错，请稍后再试。",
    forbiddenAction: "您无权执行此操作。",
    outsideArea: "该位置不在您的辖区内，不能在此上报。请在辖区内定位，或清除定位后填写辖区内的地址。",
    outsideAreaAt: "该位置（{place}）不在您的辖区内，不能在此上报。请在辖区内定位，或清除定位后填写辖区内的地址。",
    roleMayNot: "您的角色（{role}）不能{action}。",
    roleMayNotFile: "您的角色（{role}）不能提交工单。",
    roleMayNotOther: "您的角色（{role}）无权进行此操作。",
    noPhoneSearch: "您的角色看到的诉求人电话是脱敏的，不能按电话号码（或内容中的号码）查询。",
    exportTooBig: "查询结果共 {n} 件，一次最多导出 {max} 件：请缩小查询范围（日期、状态、部门等）后再导出。",
    notYourUnit: "只有承办单位可以{action}此工单。",
    notYourAlarm: "只有承办单位或城运中心可以处理此告警。",
    ownRequestOnly: "只能评价自己反映的诉求。",
    notSummoned: "{department}未被吹哨，无需报到。",
    kindNotYours: "您不能提交这类工单。",
    categoryBySystem: "“{category}”由系统自动生成（设备告警、体征预警），不能人工提交，请另选类别。",
    fieldNotYours: "“{field}”由系统或受理台填写，不能自行设置。",
    noLookup: "市民不能查询地点。",
    firstContactDone: "此工单已先行联系过。",
    extensionTooLate: "已过办理期限，不能再申请延期。",
    extensionPending: "已有一份延期申请在等待审批。",
    noExtensionPending: "没有等待审批的延期申请。",
    noReportIn: "没有等待报到的部门。",
    alreadySummoned: "{department}已被吹哨，尚未报到。",
    masterClosed: "工单 #{id} 已不在办理中（{state}），不能关联到它。",
    needsField: "{action}需要填写：{field}",
    needsTarget: "派单需要选择一个部门或一个居村（只选一个）。",
    unknownCode: "没有这个{what}，请刷新后重新选择。",
    noCase: "没有编号为 {id} 的工单。",
    f_reply: "答复内容", f_reason: "原因", f_department: "部门", f_community: "居村",
    f_category: "类别", f_content: "问题描述", f_address: "地址", f_working_days: "延期工作日数",
    f_departments: "被吹哨部门", f_report_in_hours: "报到时限", f_duplicate_of: "重复的工单编号",
    f_rating: "评价", f_lat: "位置", f_lon: "位置", f_photos: "照片", f_requester_phone: "联系电话",
    f_requester_name: "姓名", f_comment: "备注", f_kind: "工单类型", f_source: "来源", f_q: "关键词", f_phone: "电话",
    f_external_id: "外部编号", f_received_at: "受理时间", f_jurisdiction: "辖区", f_version: "版本",
    f_note: "说明",
    p_required: "必填",
    p_too_long: "最多 {n} 个字",
    p_too_short: "至少 {n} 个字",
    p_number: "请填写数字",
    p_at_least: "不能小于 {n}",
    p_at_most: "不能大于 {n}",
  },
  en: {
    brand: "Unified town operations",
    overview: "Overview",
    dispatch: "Dispatch",
    inbox: "Inbox",
    report: "Report",
    submit: "New request",
    requests: "My requests",
    rankings: "Rankings",
    duty: "Duty roster",
    alarms: "Alarms",
    home: "Cases",
    logout: "Log out",
    switch: "中文",
    switchTitle: "切换到中文",
    error: "Something went wrong",
    refused: "Not done",
    forbidden: "Your role may not see this page.",
    notFound: "Not found, or not yours to see.",
    retry: "Retry",
    stale_version: "Someone changed this case meanwhile; reload and try again.",
    illegal_transition: "The case's state does not allow this now; reload to see where it stands.",
    illegalIn: "“{action}” is not possible now: the case is {state}. Reload to see where it stands.",
    conflict: "This conflicts with what is stored; reload and try again.",
    duplicate: "This exists already.",
    too_many_requests: "Too many attempts; please wait a moment.",
    unauthenticated: "Your log-in has expired; please log in again.",
    payload_too_large: "What you sent is too large.",
    invalid_input: "Please check: {field}",
    invalidForm: "Some of what you filled in is not right; please check it.",
    busy: "The system is busy; try again in a moment.",
    server: "The server failed; try again later.",
    forbiddenAction: "You may not do this.",
    outsideArea: "This place is outside your area: you cannot report it here. Locate yourself inside your area, or clear the location and type an address in it.",
    outsideAreaAt: "This place ({place}) is outside your area: you cannot report it here. Locate yourself inside your area, or clear the location and type an address in it.",
    roleMayNot: "Your role ({role}) may not {action}.",
    roleMayNotFile: "Your role ({role}) may not file cases.",
    roleMayNotOther: "Your role ({role}) may not do this.",
    noPhoneSearch: "Your role sees requesters' phone numbers masked, so it may not search by a phone number (nor by one in the text).",
    exportTooBig: "The search finds {n} cases; an export holds at most {max}. Narrow the search (dates, state, department …) and export again.",
    notYourUnit: "Only the unit in charge may {action} this case.",
    notYourAlarm: "Only the unit in charge or the operations centre may act on this alarm.",
    ownRequestOnly: "You may rate only your own requests.",
    notSummoned: "{department} has not been summoned: there is nothing to report in to.",
    kindNotYours: "You may not file this kind of case.",
    categoryBySystem: "“{category}” cases are opened by the system itself (device alarms, vital-sign warnings), not by people: choose another category.",
    fieldNotYours: "“{field}” is set by the system or the intake desk, not by you.",
    noLookup: "Residents may not look up places.",
    firstContactDone: "First contact is already recorded for this case.",
    extensionTooLate: "The deadline has passed: an extension can no longer be requested.",
    extensionPending: "An extension request is already waiting for a decision.",
    noExtensionPending: "No extension request is waiting for a decision.",
    noReportIn: "No department is waiting to report in.",
    alreadySummoned: "{department} is already summoned and has not reported in.",
    masterClosed: "Case #{id} is no longer being handled ({state}): it cannot be linked to.",
    needsField: "To {action}, fill in: {field}",
    needsTarget: "A dispatch needs exactly one department or one community.",
    unknownCode: "That {what} does not exist; reload and choose again.",
    noCase: "There is no case #{id}.",
    f_reply: "reply", f_reason: "reason", f_department: "department", f_community: "community",
    f_category: "category", f_content: "description", f_address: "address", f_working_days: "working days",
    f_departments: "departments to summon", f_report_in_hours: "report-in time", f_duplicate_of: "case it repeats",
    f_rating: "rating", f_lat: "location", f_lon: "location", f_photos: "photos", f_requester_phone: "phone",
    f_requester_name: "name", f_comment: "comment", f_kind: "case kind", f_source: "source", f_q: "search text", f_phone: "phone",
    f_external_id: "external id", f_received_at: "time received", f_jurisdiction: "area", f_version: "version",
    f_note: "note",
    p_required: "required",
    p_too_long: "at most {n} characters",
    p_too_short: "at least {n} characters",
    p_number: "a number, please",
    p_at_least: "at least {n}",
    p_at_most: "at most {n}",
  },
});

export function langSwitch() {
  return h("button", {
    type: "button",
    class: "lang-switch",
    "data-testid": "lang-switch",
    title: t("switchTitle"),
    onclick: () => switchLang(lang() === "zh" ? "en" : "zh"),
  }, t("switch"));
}

/** Render the header into `header` for the logged-in user `me` on page `active`. */
export function renderHeader(header, { me, config, active }) {
  const town = config?.town ? pick(config.town) : "townops";
  const link = (page, href = `/${page}`) =>
    h("a", { href, class: active === page ? "active" : null, "data-nav": page }, t(page));
  const links = [];
  if (me && OVERVIEW_ROLES.includes(me.role)) links.push(link("overview"));
  for (const page of ["dispatch", "inbox", "report", "requests", "submit", "rankings"]) {
    if (me && PAGE_ROLES[page].includes(me.role)) links.push(link(page));
  }
  // 告警台 in the header of the operations centre (and the leader, who reads it).
  if (me && ["duty_officer", "dispatcher", "admin", "leader"].includes(me.role)) links.push(link("alarms"));
  if (me && me.role !== "resident") links.push(link("home", "/cases"));
  if (me && ["leader", "duty_officer", "admin", "dispatcher"].includes(me.role)) links.push(link("duty"));
  replaceChildren(
    header,
    h("a", { class: "brand", href: "/" }, h("strong", {}, town), h("span", {}, t("brand"))),
    h("nav", { class: "nav" }, links),
    h("div", { class: "who" },
      me ? h("span", { class: "user", "data-testid": "user" }, `${me.username} · ${label("role", me.role)}`) : null,
      me ? bell({ timeZone: config?.timezone }) : null,
      langSwitch(),
      me ? h("button", { type: "button", class: "link", "data-testid": "logout", onclick: logout }, t("logout")) : null,
    ),
  );
}

/** A field of a request body in words ("body.reply" → 答复内容 / reply). */
export function fieldWords(field) {
  const name = String(field || "").replace(/^(body|query)\./, "").split(".")[0];
  const key = `f_${name}`;
  return t(key) === key ? name : t(key);
}

/** A validation problem (pydantic's English) in the page's language, where it is known. */
export function problemWords(problem) {
  const text = String(problem || "");
  let m;
  if (/^Field required$/.test(text)) return t("p_required");
  if ((m = text.match(/^String should have at most (\d+) characters?$/))) return t("p_too_long", { n: m[1] });
  if ((m = text.match(/^String should have at least (\d+) characters?$/))) return t("p_too_short", { n: m[1] });
  if (/^Input should be a valid (number|integer)/.test(text)) return t("p_number");
  if ((m = text.match(/^Input should be greater than or equal to (\S+)$/))) return t("p_at_least", { n: m[1] });
  if ((m = text.match(/^Input should be less than or equal to (\S+)$/))) return t("p_at_most", { n: m[1] });
  return text;
}

const action = (code) => (lang() === "zh" ? label("action", code) : label("action", code).toLowerCase());
const state = (code) => (lang() === "zh" ? label("state", code) : label("state", code).toLowerCase());
const department = (code) => known("department", code) ?? code;
const role = (code) => label("role", code);

// The refusals the API words in English, recognised by their sentence (the code alone,
// "forbidden" or "conflict", does not say why): [pattern, (match, error) → words].
const SENTENCES = [
  [/^that place is outside your jurisdiction$/, (m, e) => {
    const place = known("place", e.details?.jurisdiction);
    return place ? t("outsideAreaAt", { place }) : t("outsideArea");
  }],
  [/sees requesters' contact data masked and may not search by a phone number$/, () => t("noPhoneSearch")],
  [/^the search finds (\d+) cases; an export holds at most (\d+)/, (m) => t("exportTooBig", { n: m[1], max: m[2] })],
  [/^role '([\w-]+)' may not create cases$/, (m) => t("roleMayNotFile", { role: role(m[1]) })],
  [/^role '([\w-]+)' may not '(\w+)'$/, (m) => t("roleMayNot", { role: role(m[1]), action: action(m[2]) })],
  [/^role '([\w-]+)' may not /, (m) => t("roleMayNotOther", { role: role(m[1]) })],
  [/^only the unit in charge of case \d+ may '(\w+)'$/, (m) => t("notYourUnit", { action: action(m[1]) })],
  [/^only the unit in charge of .* may '\w+' alarm \d+$/, () => t("notYourAlarm")],
  [/^a resident may rate only their own request$/, () => t("ownRequestOnly")],
  [/^department '([\w-]+)' has not been summoned to this case$/, (m) => t("notSummoned", { department: department(m[1]) })],
  [/^you may not file a case of kind /, () => t("kindNotYours")],
  [/^kind '[\w-]+' is opened by townops itself/, () => t("kindNotYours")],
  [/^category '([\w-]+)' is opened by townops itself/, (m) => t("categoryBySystem", { category: known("category", m[1]) ?? m[1] })],
  [/^(source '[\w-]+'|external_id|received_at) is set by /, (m, e) => t("fieldNotYours", { field: fieldWords(e.details?.field || "") })],
  [/^residents may not look up places$/, () => t("noLookup")],
  [/^first contact is already recorded for this case$/, () => t("firstContactDone")],
  [/^an extension must be requested before the deadline$/, () => t("extensionTooLate")],
  [/^an extension request is already waiting for a decision$/, () => t("extensionPending")],
  [/^there is no extension request waiting for a decision$/, () => t("noExtensionPending")],
  [/^no department is waiting to report in$/, () => t("noReportIn")],
  [/^department '([\w-]+)' is already summoned and has not reported in$/, (m) => t("alreadySummoned", { department: department(m[1]) })],
  [/^case (\d+) is no longer being handled \((\w+)\)$/, (m) => t("masterClosed", { id: m[1], state: state(m[2]) })],
  [/^no case (\d+) to link to$/, (m) => t("noCase", { id: m[1] })],
  [/^'(\w+)' needs '(\w+)'$/, (m) => t("needsField", { action: action(m[1]), field: fieldWords(m[2]) })],
  [/^'dispatch' needs exactly one of 'department' or 'community'$/, () => t("needsTarget")],
  [/^unknown (department|community|category) /, (m) => t("unknownCode", { what: fieldWords(m[1]) })],
];

/**
 * A refusal of the API in the page's language: why, without codes. The API's messages are
 * English sentences with codes in them; each known one is worded here (both languages),
 * an unknown one by its code, and in English as the API says it.
 */
export function refusalText(error) {
  if (!error) return "";
  const message = error.message || "";
  const details = error.details || {};
  if (error.status >= 500) return error.code === "busy" ? t("busy") : t("server");
  if (error.code === "stale_version") return t("stale_version");
  if (error.code === "illegal_transition") {
    return details.state && details.action
      ? t("illegalIn", { state: state(details.state), action: label("action", details.action) })
      : t("illegal_transition");
  }
  for (const [pattern, words] of SENTENCES) {
    const match = message.match(pattern);
    if (match) return words(match, error);
  }
  if (error.status === 403) return error.code ? (lang() === "zh" ? t("forbiddenAction") : message || t("forbiddenAction")) : t("forbidden");
  if (error.status === 404) return t("notFound");
  if (["conflict", "duplicate", "too_many_requests", "unauthenticated", "payload_too_large"].includes(error.code)) {
    return lang() === "zh" ? t(error.code) : message || t(error.code);
  }
  if (error.code === "invalid_input") {
    if (details.field) return t("invalid_input", { field: fieldWords(details.field) });
    return details.problems?.length || lang() === "zh" ? t("invalidForm") : message;
  }
  return message || String(error);
}

/** An error as a box on the page: why, in the page's language, and each field's problem. */
export function errorBox(error, onRetry) {
  // A refusal of something the user did (an API error with a code) or a page it may not see.
  const refusal = Boolean(error?.code) && error.status < 500;
  const problems = error?.details?.problems || [];
  return h("div", { class: "error-box", role: "alert", "data-testid": "error", "data-code": error?.code || null },
    h("strong", {}, refusal ? t("refused") : t("error")),
    h("p", {}, refusalText(error)),
    problems.length ? h("ul", {}, problems.map((p) => h("li", {}, `${fieldWords(p.field)}: ${problemWords(p.problem)}`))) : null,
    onRetry ? h("button", { type: "button", onclick: onRetry }, t("retry")) : null,
  );
}

export function stateBadge(state) {
  return h("span", { class: `badge state-${state}`, "data-state": state }, label("state", state));
}
