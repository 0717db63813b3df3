// The log-in: a bearer token kept in sessionStorage (gone when the tab closes).

const TOKEN = "townops.token";
const EXPIRES = "townops.expires";
const ME = "townops.me";

/** Roles whose home is the one screen; the others start from their work page. */
export const ONE_SCREEN_ROLES = ["leader", "duty_officer", "admin"];
export const OVERVIEW_ROLES = [...ONE_SCREEN_ROLES, "dispatcher", "community_staff", "grid_worker"];

/** Who may open each work page (the API checks again: this only keeps menus honest). */
export const PAGE_ROLES = {
  dispatch: ["dispatcher", "duty_officer", "admin"],
  inbox: ["handler", "community_staff", "grid_worker", "admin"],
  report: ["grid_worker", "community_staff"],
  submit: ["resident"],
  requests: ["resident"],
  rankings: ["leader", "duty_officer", "admin"],
  // 告警台: the operations centre handles alarms, the leader reads; the units in charge
  // (departments, communities, grid workers) see their own alarms, as the API scopes them.
  alarms: ["duty_officer", "dispatcher", "admin", "leader", "handler", "community_staff", "grid_worker"],
  // 设备详情: whoever may see devices (the API scopes community staff and grid workers).
  device: ["duty_officer", "dispatcher", "admin", "leader", "handler", "community_staff", "grid_worker"],
  // 值班表: every member of staff may look up who is on duty; the nav offers it to the
  // operations centre's roles.
  duty: ["leader", "duty_officer", "admin", "dispatcher", "handler", "community_staff", "grid_worker"],
  // 通知: everyone who logs in reads their own messages (the bell links here).
  notifications: [
    "leader", "duty_officer", "admin", "dispatcher", "handler", "community_staff", "grid_worker", "resident",
  ],
};

const HOMES = {
  dispatcher: "/dispatch",
  handler: "/inbox",
  community_staff: "/inbox",
  grid_worker: "/inbox",
  resident: "/requests",
};

export function token() {
  const value = sessionStorage.getItem(TOKEN);
  const expires = Number(sessionStorage.getItem(EXPIRES) || 0);
  if (!value || Date.now() >= expires) return null;
  return value;
}

export function isLoggedIn() {
  return token() !== null;
}

export function clearLogin() {
  for (const key of [TOKEN, EXPIRES, ME]) sessionStorage.removeItem(key);
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith("townops.cache.")) sessionStorage.removeItem(key);
  }
}

/** POST the OAuth2 password form; keeps the token. Throws {status, message} on failure. */
export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const response = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data?.error?.message || response.statusText);
    error.status = response.status;
    error.retryAfter = Number(response.headers.get("Retry-After")) || null;
    throw error;
  }
  clearLogin();
  sessionStorage.setItem(TOKEN, data.access_token);
  // A minute early, so a request never leaves with a token about to lapse.
  sessionStorage.setItem(EXPIRES, String(Date.now() + (data.expires_in - 60) * 1000));
  return data;
}

/** Log out on the server (every token of this account is revoked), then here. */
export async function logout() {
  const bearer = token();
  if (bearer) {
    try {
      await fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { Authorization: `Bearer ${bearer}` },
        keepalive: true,
      });
    } catch {
      // Offline: the token is forgotten here all the same and lapses at its expiry.
    }
  }
  clearLogin();
  location.assign("/login");
}

export function cachedMe() {
  try {
    return JSON.parse(sessionStorage.getItem(ME) || "null");
  } catch {
    return null;
  }
}

export function rememberMe(me) {
  sessionStorage.setItem(ME, JSON.stringify(me));
}

/** Where a role lands after log-in. */
export function homeFor(role) {
  if (ONE_SCREEN_ROLES.includes(role)) return "/overview";
  return HOMES[role] || "/";
}
