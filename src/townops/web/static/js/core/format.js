// Numbers, shares and times for the current language, in the town's time zone.

import { lang } from "./i18n.js";

export function makeFormat(timeZone = "Asia/Shanghai") {
  const locale = lang() === "zh" ? "zh-CN" : "en-GB";
  const numberFormat = new Intl.NumberFormat(locale);
  const dateTime = new Intl.DateTimeFormat(locale, {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const shortTime = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit", hour12: false });
  const monthDay = new Intl.DateTimeFormat(locale, { timeZone, month: "2-digit", day: "2-digit" });
  const dayKey = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });

  return {
    timeZone,
    number: (n) => (n === null || n === undefined ? "—" : numberFormat.format(n)),
    percent: (r, digits = 1) => (r === null || r === undefined ? "—" : `${(r * 100).toFixed(digits)}%`),
    dateTime: (iso) => (iso ? dateTime.format(new Date(iso)) : "—"),
    /** "14:05" today, "12-30 14:05" another day this year, "2025-12-30 14:05" (the whole
     * date) in another year: the town's days. */
    when: (iso) => {
      if (!iso) return "—";
      const d = new Date(iso);
      const [day, now] = [dayKey.format(d), dayKey.format(new Date())];
      if (day === now) return shortTime.format(d);
      if (day.slice(0, 4) !== now.slice(0, 4)) return dateTime.format(d);
      return `${monthDay.format(d)} ${shortTime.format(d)}`;
    },
    /** A calendar day "2022-12-31" as given by the API (no time zone shift). */
    day: (text) => text || "—",
    dayShort: (text) => (text ? text.slice(5) : ""),
    /** Seconds as "3 h 20 min" / "3小时20分". */
    duration: (seconds) => {
      const s = Math.abs(Math.round(seconds));
      const days = Math.floor(s / 86400);
      const hours = Math.floor((s % 86400) / 3600);
      const minutes = Math.floor((s % 3600) / 60);
      if (lang() === "zh") {
        if (days) return `${days}天${hours}小时`;
        if (hours) return `${hours}小时${minutes}分`;
        return `${minutes}分钟`;
      }
      if (days) return `${days} d ${hours} h`;
      if (hours) return `${hours} h ${minutes} min`;
      return `${minutes} min`;
    },
  };
}
