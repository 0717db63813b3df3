// Languages: Chinese by default, English on request. The choice is remembered in
// localStorage; ?lang=en (or zh) in any page URL sets it. Each page module carries its own
// messages ({zh: {...}, en: {...}}) and gets a translator for them: no shared dictionary.

const KEY = "townops.lang";
export const LANGS = ["zh", "en"];

function fromUrl() {
  const asked = new URLSearchParams(location.search).get("lang");
  return LANGS.includes(asked) ? asked : null;
}

function stored() {
  try {
    const value = localStorage.getItem(KEY);
    return LANGS.includes(value) ? value : null;
  } catch {
    return null; // storage disabled: stay with the default
  }
}

let current = fromUrl() || stored() || "zh";
if (fromUrl()) remember(current);

function remember(lang) {
  try {
    localStorage.setItem(KEY, lang);
  } catch {
    /* storage disabled: the choice lasts for this page only */
  }
}

export function lang() {
  return current;
}

/** Switch language and reload the page (every page renders from its messages again). */
export function switchLang(next) {
  remember(next);
  const url = new URL(location.href);
  url.searchParams.delete("lang");
  location.assign(url.pathname + url.search + url.hash);
}

/** A translator for one module's messages: t("key", {n: 3}) → "… 3 …" with {n} filled. */
export function translator(messages) {
  return (key, vars) => {
    const text = messages[current]?.[key] ?? messages.zh?.[key] ?? key;
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  };
}

/** obj.name_zh or obj.name_en (or another base), whichever the language wants. */
export function pick(obj, base = "name") {
  if (!obj) return "";
  return obj[`${base}_${current}`] || obj[`${base}_zh`] || obj[base] || obj.code || "";
}

export function applyDocumentLang() {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}
