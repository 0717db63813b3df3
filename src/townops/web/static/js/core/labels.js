// The engine's vocabulary in both languages: states, actions, roles, ratings, alarm
// words. The town's own codes — case kinds, categories, departments, places, device types,
// alarm rules — are learnt from the server's reference data (core/reference.js →
// learnWords). Pages share these (they are the API's codes, not a page's messages).

import { lang } from "./i18n.js";

const WORDS = {
  state: {
    received: ["受理", "Received"],
    dispatched: ["已派单", "Dispatched"],
    accepted: ["已签收", "Accepted"],
    returned: ["已退单", "Returned"],
    linked: ["重复件", "Linked (repeat)"],
    resolved: ["已办结", "Resolved"],
    callback: ["已回访", "Called back"],
    reopened: ["重办", "Reopened"],
    closed: ["已结案", "Closed"],
  },
  action: {
    create: ["受理", "Received"],
    dispatch: ["派单", "Dispatch"],
    link: ["关联重复件", "Link as repeat"],
    accept: ["签收", "Accept"],
    first_contact: ["先行联系", "First contact"],
    resolve: ["办结", "Resolve"],
    callback: ["回访", "Call back"],
    close: ["结案", "Close"],
    return: ["退单", "Return"],
    request_extension: ["申请延期", "Request extension"],
    approve_extension: ["批准延期", "Approve extension"],
    deny_extension: ["驳回延期", "Deny extension"],
    supervise: ["督办", "Supervise"],
    reopen: ["重办", "Reopen"],
    whistle: ["吹哨", "Whistle"],
    report_in: ["报到", "Report in"],
    comment: ["补充", "Add a comment"],
    acknowledge: ["确认收到", "Acknowledge"],
    // Recorded on a case's timeline from its device alarm (townops.sensing.alarms).
    alarm_acknowledged: ["告警已确认", "Alarm acknowledged"],
    alarm_verified: ["告警已现场核实", "Alarm verified on site"],
    alarm_false: ["告警标为误报", "Alarm marked false"],
  },
  // Case kinds are a registry on the server (a domain may add one): their names arrive
  // with the reference data (core/reference.js → learnWords("kind", …)).
  kind: {},
  // Where a case came from (CaseOut.source): the channels townops itself names.
  source: {
    12345: ["12345热线", "12345 hotline"],
    open311: ["Open311 接口", "Open311"],
    api: ["接口录入", "API"],
    web: ["网页", "web app"],
    iot: ["物联感知", "sensing network"],
    vital_sign: ["体征预警", "vital-sign warning"],
    systemic: ["举一反三", "systemic issue"],
  },
  // Learnt from the reference data (core/reference.js): the town's categories, departments,
  // places (jurisdictions), device types and alarm rules.
  category: {},
  department: {},
  place: {},
  device_type: {},
  alarm_rule: {},
  role: {
    admin: ["系统管理员", "Administrator"],
    leader: ["镇领导", "Town leader"],
    duty_officer: ["值班长", "Duty officer"],
    dispatcher: ["派单员", "Dispatcher"],
    handler: ["处置人员", "Handler"],
    community_staff: ["居委干部", "Community staff"],
    grid_worker: ["网格员", "Grid worker"],
    resident: ["市民", "Resident"],
    system: ["系统", "System"],
  },
  extension_status: {
    pending: ["待审批", "pending"],
    approved: ["已批准", "approved"],
    denied: ["已驳回", "denied"],
  },
  rating: {
    satisfied: ["满意", "Satisfied"],
    basically_satisfied: ["基本满意", "Basically satisfied"],
    dissatisfied: ["不满意", "Dissatisfied"],
  },
  severity: {
    info: ["提示", "Info"],
    warning: ["预警", "Warning"],
    critical: ["严重", "Critical"],
  },
  alarm: {
    raised: ["告警", "Raised"],
    acknowledged: ["已确认", "Acknowledged"],
    verified: ["已现场核实", "Verified on site"],
    cleared: ["已恢复", "Cleared"],
    false_alarm: ["误报", "False alarm"],
  },
  // Automatic dispatch (CaseOut.routing). Reasons carry {placeholders} for reason_params:
  // the page fills them in (numbers formatted, case ids as links).
  routing_outcome: {
    dispatched: ["系统已自动派单", "Dispatched by the system"],
    queued: ["待人工派单", "Waiting for a dispatcher"],
    duplicate: ["已关联为重复件", "Linked as a repeat"],
  },
  routing_reason: {
    confident: ["识别把握 {confidence}，达到阈值 {threshold}", "confidence {confidence} reached the threshold {threshold}"],
    repeat: ["与在办工单 #{case_id} 重复（相似度 {similarity}）", "repeats open case #{case_id} (similarity {similarity})"],
    auto_dispatch_off: ["本镇未开启自动派单", "automatic dispatch is off for this town"],
    person_requested: ["受理时要求人工派单", "the caller asked for a person to dispatch it"],
    low_confidence: ["识别把握 {confidence}，低于阈值 {threshold}", "confidence {confidence} below the threshold {threshold}"],
    no_place: ["诉求中未找到地点", "no place found in the request"],
    unsure_place: ["地点不够确定（把握 {place_confidence}）", "place not sure enough ({place_confidence})"],
    other: ["{text}", "{text}"],
  },
  routing_rule: {
    "category-default": ["按类别的默认承办部门", "the category's own department"],
  },
  category_source: {
    given: ["受理时选定", "chosen when received"],
    classifier: ["系统识别", "read by the classifier"],
  },
  place_method: {
    given: ["受理时选定", "chosen when received"],
    point: ["按坐标定位", "from the map point"],
    actor: ["按上报人网格", "from the reporter's grid"],
    address: ["按地址识别", "read from the address"],
    none: ["未定位", "not found"],
  },
};

/** label("state", "received") → "受理" / "Received"; an unknown code comes back as is. */
export function label(group, code) {
  const pair = WORDS[group]?.[code];
  if (!pair) return code ?? "";
  return lang() === "zh" ? pair[0] : pair[1];
}

/** label() for a code the town names (category, department, place …), or null if unknown. */
export function known(group, code) {
  return WORDS[group]?.[code] ? label(group, code) : null;
}

/** Adds or replaces the names of a group's codes from [{code, name_zh, name_en}]. */
export function learnWords(group, entries) {
  const words = (WORDS[group] ??= {});
  for (const { code, name_zh: zh, name_en: en } of entries || []) words[code] = [zh, en || zh];
}

export function codes(group) {
  return Object.keys(WORDS[group] || {});
}
