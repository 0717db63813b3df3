// The engine's vocabulary in both languages: states, actions, kinds, roles, ratings,
// alarm words. Pages share these (they are the API's codes, not a page's messages).

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
  },
  kind: {
    hotline: ["12345热线", "12345 hotline"],
    iot_alarm: ["物联告警", "IoT alarm"],
    patrol: ["巡查发现", "Patrol"],
    mediation: ["调解", "Mediation"],
    request: ["市民诉求", "Request"],
  },
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
    cleared: ["已恢复", "Cleared"],
    false_alarm: ["误报", "False alarm"],
  },
};

/** label("state", "received") → "受理" / "Received"; an unknown code comes back as is. */
export function label(group, code) {
  const pair = WORDS[group]?.[code];
  if (!pair) return code ?? "";
  return lang() === "zh" ? pair[0] : pair[1];
}

export function codes(group) {
  return Object.keys(WORDS[group] || {});
}
