// The JSON API with the bearer token; a 401 sends the user to the log-in page.

import { clearLogin, token } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code || "http_error";
    this.details = body?.error?.details || {};
  }
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/** api("/api/v1/cases/1"), api(path, {method: "POST", json: {...}}) → parsed JSON. */
export async function api(path, { method = "GET", json, query, signal } = {}) {
  const bearer = token();
  if (!bearer) {
    toLogin();
    throw new ApiError(401, { error: { code: "unauthenticated", message: "not logged in" } });
  }
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  const headers = { Accept: "application/json", Authorization: `Bearer ${bearer}` };
  const init = { method, headers, signal };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(url, init);
  if (response.status === 401) {
    clearLogin();
    toLogin();
    throw new ApiError(401, await response.json().catch(() => null));
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Reference data kept for the session (categories, departments, places: rarely change). */
export async function cachedApi(path) {
  const key = `townops.cache.${path}`;
  const hit = sessionStorage.getItem(key);
  if (hit) return JSON.parse(hit);
  const data = await api(path);
  try {
    sessionStorage.setItem(key, JSON.stringify(data));
  } catch {
    /* full: fetch again next time */
  }
  return data;
}

/** Public town facts (name, time zone), cached for the tab. */
export async function webConfig() {
  const key = "townops.config";
  const hit = sessionStorage.getItem(key);
  if (hit) return JSON.parse(hit);
  const response = await fetch("/api/v1/web/config", { headers: { Accept: "application/json" } });
  const data = await response.json();
  sessionStorage.setItem(key, JSON.stringify(data));
  return data;
}

/** Saves what `path` answers (an export) as `file`: fetched with the bearer token (a plain
 *  link could not send it), then saved from a blob: URL (the CSP allows blob: for this).
 *  A refusal throws an ApiError, as api() does. */
export async function download(path, file) {
  const bearer = token();
  if (!bearer) {
    toLogin();
    throw new ApiError(401, { error: { code: "unauthenticated", message: "not logged in" } });
  }
  const response = await fetch(path, { headers: { Authorization: `Bearer ${bearer}` } });
  if (response.status === 401) {
    clearLogin();
    toLogin();
  }
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = file;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
