// Every call to the daemon: same-origin fetch (the HttpOnly `jwt` cookie set at login carries the
// token), errors turned into sentences, a 401 reported to the session, a network failure reported as
// a lost connection.
export class ApiError extends Error {
  constructor(message: string, public status: number, public body: unknown = null) {
    super(message);
  }
}

type Listener = (reason: string) => void;
const listeners: { expired: Listener[]; offline: Listener[]; online: Listener[] } = { expired: [], offline: [], online: [] };
export function on(what: keyof typeof listeners, fn: Listener): void {
  listeners[what].push(fn);
}
export function emit(what: keyof typeof listeners, reason = ""): void {
  for (const fn of listeners[what]) fn(reason);
}

const REASONS: Record<number, string> = {
  400: "the request was refused as invalid",
  401: "not logged in, or the session has ended",
  403: "not allowed for this account",
  404: "not supported on this device, or not found",
  409: "conflicts with the current state",
  413: "too large",
  422: "the device could not apply it",
  429: "too many attempts; wait and try again",
  503: "the device is busy or the hardware did not answer",
};

/** The spec's error shapes ({"Code","Message"}, {"errors":{area: msg}}, {"message"}, {"code","message"}) in words. */
export function describe(status: number, body: any): string {
  let detail = "";
  if (body && typeof body === "object") {
    if (typeof body.Message === "string" && body.Message) detail = body.Message;
    else if (typeof body.message === "string" && body.message) detail = body.message;
    else if (body.errors && typeof body.errors === "object") {
      detail = Object.entries(body.errors).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("; ");
    }
  } else if (typeof body === "string") {
    detail = body.trim().slice(0, 200);
  }
  const reason = REASONS[status] || `HTTP ${status}`;
  return detail ? `${detail} (${status}: ${reason})` : `${reason} (HTTP ${status})`;
}

export async function api<T = any>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    emit("offline", "The device does not answer.");
    throw new ApiError("The device does not answer: the connection was lost.", 0);
  }
  emit("online");
  const type = response.headers.get("Content-Type") || "";
  let parsed: any = null;
  if (response.status !== 204) {
    const text = await response.text();
    parsed = text;
    if (type.includes("json")) {
      try { parsed = JSON.parse(text); } catch { /* left as text */ }
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !opts.quiet401) emit("expired", describe(401, parsed));
    throw new ApiError(describe(response.status, parsed), response.status, parsed);
  }
  return parsed as T;
}

export const get = <T = any>(path: string) => api<T>("GET", path);
export const put = <T = any>(path: string, body: unknown) => api<T>("PUT", path, body);
export const post = <T = any>(path: string, body?: unknown) => api<T>("POST", path, body);
export const del = <T = any>(path: string) => api<T>("DELETE", path);
