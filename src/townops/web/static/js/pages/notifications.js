// 通知 /notifications: the caller's own in-app messages (站内信), newest first, each with its
// text and time, read or unread; "unread only" (?unread=1) and "mark all read". A message
// about a case links to it, and opening it marks it read. The header's bell shows the same
// count (core/bell.js) and hears of every change here.

import { runAction } from "../core/actions.js";
import { api } from "../core/api.js";
import { UNREAD_EVENT, announceUnread, markRead, notificationHref, openOnClick } from "../core/bell.js";
import { h, replaceChildren, useStyle } from "../core/dom.js";
import { pick } from "../core/i18n.js";
import { errorBox } from "../core/shell.js";

const messages = {
  zh: {
    title: "通知",
    unreadCount: "未读 {n} 条",
    unreadOnly: "只看未读",
    markAll: "全部已读",
    markOne: "标为已读",
    unread: "未读",
    read: "已读",
    openCase: "查看工单 #{id}",
    acknowledge: "确认收到",
    acknowledged: "已确认收到，升级通知已停止。",
    none: "暂无通知。",
    noneUnread: "没有未读通知。",
    latest: "只显示最近 {n} 条。",
    marked: "已全部标为已读。",
    settings: "通知设置",
    settingsHint: "站内通知不能关闭；紧急告警等重要通知仍会通过已关闭的渠道发送。",
    channelsOn: "接收渠道",
    language: "短信、邮件等使用的语言",
    save: "保存设置",
    saved: "设置已保存。",
    kind_inapp: "站内通知",
    kind_email: "电子邮件",
    kind_wecom_bot: "企业微信群",
    kind_dingtalk_bot: "钉钉群",
    kind_feishu_bot: "飞书群",
    kind_aliyun_sms: "短信",
    kind_tencent_sms: "短信",
    lang_zh: "中文",
    lang_en: "English",
  },
  en: {
    title: "Notifications",
    unreadCount: "{n} unread",
    unreadOnly: "Unread only",
    markAll: "Mark all read",
    markOne: "Mark read",
    unread: "Unread",
    read: "Read",
    openCase: "Open case #{id}",
    acknowledge: "Acknowledge",
    acknowledged: "Acknowledged: nobody further up the chain will be called.",
    none: "No notifications yet.",
    noneUnread: "No unread notifications.",
    latest: "Only the latest {n} are shown.",
    marked: "All marked read.",
    settings: "Notification settings",
    settingsHint: "In-app notifications cannot be turned off; critical ones (an alarm nobody signs for) still come through a channel you turned off.",
    channelsOn: "Channels",
    language: "Language of e-mails and messages",
    save: "Save settings",
    saved: "Settings saved.",
    kind_inapp: "In-app",
    kind_email: "E-mail",
    kind_wecom_bot: "WeCom group",
    kind_dingtalk_bot: "DingTalk group",
    kind_feishu_bot: "Feishu group",
    kind_aliyun_sms: "SMS",
    kind_tencent_sms: "SMS",
    lang_zh: "中文",
    lang_en: "English",
  },
};

const LIMIT = 200; // the API's largest page

async function render({ main, t, fmt, url, setTitle }) {
  await useStyle("../../css/notifications.css", import.meta.url);
  setTitle(t("title"));
  let unreadOnly = url.searchParams.get("unread") === "1";
  let unread = 0;

  const count = h("span", { class: "badge", "data-testid": "notifications-unread" });
  const filter = h("input", { type: "checkbox", "data-testid": "unread-only", checked: unreadOnly });
  const markAll = h("button", { type: "button", "data-testid": "mark-all" }, t("markAll"));
  const flash = h("p", { class: "flash", role: "status", "data-testid": "flash" });
  const list = h("ol", { class: "notification-list", "data-testid": "notification-list" });
  const note = h("p", { class: "muted latest", hidden: true });
  const errorSlot = h("div");
  const settings = h("details", { class: "card notification-settings", "data-testid": "notification-settings" });
  replaceChildren(main, h("section", { class: "notifications" },
    h("div", { class: "page-head" },
      h("h1", {}, t("title")), count,
      h("div", { class: "notifications-tools" },
        h("label", { class: "check" }, filter, h("span", {}, t("unreadOnly"))),
        markAll)),
    flash, errorSlot, settings, list, note));

  // 通知设置: the channels one may turn off and the language of what is sent.
  async function loadSettings() {
    const prefs = await api("/api/v1/notifications/preferences");
    const boxes = prefs.channels.map((c) => {
      const box = h("input", { type: "checkbox", name: c.name, checked: !c.muted, disabled: !c.mutable });
      const named = t(`kind_${c.kind}`);
      return h("label", { class: "check" }, box, h("span", {}, c.kind === c.name || c.kind === "inapp" ? named : `${named} · ${c.name}`));
    });
    const language = h("select", { name: "locale" },
      ["zh", "en"].map((code) => h("option", { value: code, selected: prefs.locale === code }, t(`lang_${code}`))));
    const status = h("p", { class: "flash", role: "status" });
    const save = h("button", { type: "submit", "data-testid": "save-settings" }, t("save"));
    const form = h("form", {},
      h("fieldset", {}, h("legend", {}, t("channelsOn")), boxes),
      h("label", { class: "field" }, h("span", {}, t("language")), language),
      h("p", { class: "muted" }, t("settingsHint")),
      save, status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      status.textContent = "";
      const muted = prefs.channels.filter((c) => c.mutable && !form.elements[c.name].checked).map((c) => c.name);
      try {
        await api("/api/v1/notifications/preferences", { method: "PUT", json: { muted_channels: muted, locale: language.value } });
        status.textContent = t("saved");
      } catch (error) {
        if (error?.status !== 401) replaceChildren(status, errorBox(error));
      } finally {
        save.disabled = false;
      }
    });
    replaceChildren(settings, h("summary", {}, t("settings")), form);
  }

  function setUnread(n, { tell = true } = {}) {
    unread = n;
    count.textContent = t("unreadCount", { n: fmt.number(n) });
    count.classList.toggle("has-unread", n > 0);
    markAll.disabled = n === 0;
    if (tell) announceUnread(n);
  }

  function markedHere(li, item) {
    item.read = true;
    li.classList.remove("unread");
    li.dataset.read = "1";
    li.querySelector(".read-state").textContent = t("read");
    li.querySelector(".mark-one")?.remove();
    setUnread(Math.max(0, unread - 1));
    if (unreadOnly) li.remove();
  }

  function row(item) {
    const li = h("li", {
      class: ["notification", "card", item.read ? null : "unread"],
      "data-testid": "notification",
      "data-id": item.id,
      "data-case-id": item.case_id ?? null,
      "data-rule": item.rule,
      "data-read": item.read ? "1" : "0",
    });
    const title = h("a", { class: "n-title", href: notificationHref(item) }, pick(item, "title"));
    title.addEventListener("click", openOnClick(item, () => markedHere(li, item)));
    const markOne = item.read ? null : h("button", { type: "button", class: "link mark-one", "data-testid": "mark-one" }, t("markOne"));
    markOne?.addEventListener("click", async () => {
      markOne.disabled = true;
      try {
        await markRead(item.id);
        markedHere(li, item);
      } catch (error) {
        markOne.disabled = false;
        if (error?.status !== 401) replaceChildren(errorSlot, errorBox(error));
      }
    });
    // A call up the on-duty chain (an alarm nobody has acknowledged): 确认收到 answers it
    // on the case (the engine's acknowledge action), which stops the calls still waiting.
    const ack = item.asks_acknowledgement && item.case_id
      ? h("button", { type: "button", class: "primary acknowledge", "data-testid": "acknowledge" }, t("acknowledge"))
      : null;
    ack?.addEventListener("click", async () => {
      ack.disabled = true;
      try {
        const c = await api(`/api/v1/cases/${item.case_id}`);
        await runAction(c, "acknowledge");
        ack.replaceWith(h("span", { class: "acknowledged", role: "status", "data-testid": "acknowledged" }, t("acknowledged")));
        if (!item.read) {
          await markRead(item.id);
          markedHere(li, item);
        }
      } catch (error) {
        ack.disabled = false;
        if (error?.status !== 401) replaceChildren(errorSlot, errorBox(error));
      }
    });
    replaceChildren(li,
      h("div", { class: "n-head" },
        h("span", { class: "read-state", "data-testid": "read-state" }, item.read ? t("read") : t("unread")),
        h("h2", {}, title),
        h("time", { class: "n-time", datetime: item.at }, fmt.dateTime(item.at))),
      h("p", { class: "n-body" }, pick(item, "body")),
      h("div", { class: "n-foot" },
        ack,
        item.case_id ? h("a", { href: `/cases/${item.case_id}` }, t("openCase", { id: item.case_id })) : null,
        markOne));
    return li;
  }

  async function load() {
    replaceChildren(errorSlot);
    const data = await api("/api/v1/notifications", { query: { unread: unreadOnly, limit: LIMIT } });
    setUnread(data.unread);
    replaceChildren(list, data.items.length
      ? data.items.map(row)
      : h("li", { class: "empty card", "data-testid": "notifications-empty" }, unreadOnly ? t("noneUnread") : t("none")));
    note.textContent = t("latest", { n: LIMIT });
    note.hidden = data.items.length < LIMIT;
  }

  filter.addEventListener("change", async () => {
    unreadOnly = filter.checked;
    const next = new URL(location.href);
    if (unreadOnly) next.searchParams.set("unread", "1");
    else next.searchParams.delete("unread");
    history.replaceState(null, "", next.pathname + next.search + next.hash);
    flash.textContent = "";
    try {
      await load();
    } catch (error) {
      if (error?.status !== 401) replaceChildren(errorSlot, errorBox(error, load));
    }
  });
  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    try {
      await markRead(null);
      await load();
      flash.textContent = t("marked");
    } catch (error) {
      markAll.disabled = unread === 0;
      if (error?.status !== 401) replaceChildren(errorSlot, errorBox(error));
    }
  });
  // The bell saw a new message or marked some read: the list follows.
  document.addEventListener(UNREAD_EVENT, (event) => {
    if (event.detail.unread === unread) return;
    setUnread(event.detail.unread, { tell: false });
    load().catch(() => {}); // the next change tries again
  });

  const settingsFailed = (error) => {
    if (error?.status !== 401) replaceChildren(settings, h("summary", {}, t("settings")), errorBox(error));
  };
  await Promise.all([load(), loadSettings().catch(settingsFailed)]);
}

export default { messages, render };
