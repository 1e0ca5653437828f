// Who is logged in. The token itself lives only in the HttpOnly `jwt` cookie the login sets; what the
// page needs from it (user, role, expiry, "must change the password") is decoded once at login and kept
// in sessionStorage, so a reload keeps the session and no script can read the token.
import { api, emit } from "./api";

export interface Claims {
  user: string;
  method: number; // 0 OS account, 2 the built-in admin account
  role: "admin" | "user";
  exp: number; // seconds since the epoch, by the device's clock
  // when the session ends by this browser's clock (ms): the token's lifetime (exp - iat) counted from
  // the login, so a browser whose clock is off from the device's (no RTC, no NTP) ends it on time
  until: number;
  mustChange: boolean;
}

const KEY = "portald.session";
let current: Claims | null = load();
let timer: number | undefined;

function load(): Claims | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Claims) : null;
  } catch {
    return null;
  }
}

export function claims(): Claims | null {
  return current;
}

export function isAdmin(): boolean {
  return current?.role === "admin";
}

function decode(token: string): Claims {
  const part = token.split(".")[1] || "";
  const json = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=")));
  const lifetime = typeof json.iat === "number" ? json.exp - json.iat : json.exp - Date.now() / 1000;
  return { user: json.sub, method: json.m, role: json.role === "admin" ? "admin" : "user", exp: json.exp,
    until: Date.now() + lifetime * 1000, mustChange: !!json.chg };
}

/** When the session ends by this browser's clock (a session saved before `until` existed: by `exp`). */
export function ends(c: Claims): number {
  return typeof c.until === "number" ? c.until : c.exp * 1000;
}

function watchExpiry(): void {
  window.clearTimeout(timer);
  if (!current) return;
  const ms = ends(current) - Date.now();
  // setTimeout's delay is a signed 32-bit count of ms; a longer session is checked again later
  timer = window.setTimeout(() => {
    if (current && ends(current) <= Date.now()) emit("expired", "The session has expired.");
    else watchExpiry();
  }, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
}
watchExpiry();

export async function login(username: string, password: string, method: number): Promise<Claims> {
  const body = await api<{ token: string }>("POST", `/auth/login?m=${method}`, { username, password }, { quiet401: true });
  current = decode(body.token);
  sessionStorage.setItem(KEY, JSON.stringify(current));
  watchExpiry();
  return current;
}

export async function changeAdminPassword(old: string, next: string): Promise<void> {
  await api("PUT", "/auth/user/admin/password", { old, new: next });
}

export function forget(): void {
  current = null;
  sessionStorage.removeItem(KEY);
  window.clearTimeout(timer);
}

export async function logout(): Promise<void> {
  try {
    await api("POST", "/auth/logout", undefined, { quiet401: true });
  } finally {
    forget();
  }
}
