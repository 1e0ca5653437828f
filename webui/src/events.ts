// The live feed: one EventSource on /platform/api/events?events=... per open page (the cookie carries
// the token). When the stream fails, a plain request says why: 401 -> the session ended, no answer ->
// the connection is lost (the banner), otherwise the stream is opened again.
import { ApiError, emit, get } from "./api";

export type Handler = (name: string, data: any) => void;

export function subscribe(names: string[], handler: Handler): () => void {
  let source: EventSource | null = null;
  let retry: number | undefined;
  let stopped = false;

  const open = () => {
    if (stopped) return;
    source = new EventSource(`/platform/api/events?events=${names.join(",")}`);
    for (const name of names) {
      source.addEventListener(name, (event) => {
        try { handler(name, JSON.parse((event as MessageEvent).data)); } catch { /* a malformed frame is skipped */ }
      });
    }
    source.addEventListener("open", () => emit("online"));
    source.addEventListener("error", () => {
      if (stopped || !source) return;
      // CONNECTING: the browser retries by itself (a dropped stream); CLOSED: it gave up (an error status)
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        probe();
      } else {
        probeSoon();
      }
    });
  };

  let probing = false;
  const probeSoon = () => {
    if (probing) return;
    probing = true;
    window.setTimeout(() => { probing = false; if (source && source.readyState !== EventSource.OPEN) probe(false); }, 1500);
  };

  const probe = (reopen = true) => {
    get("/platform/api/plugins").then(() => {
      if (reopen && !stopped) retry = window.setTimeout(open, 2000);
    }, (err: ApiError) => {
      if (err.status === 401 || stopped) return; // the session dialog took over
      if (source) { source.close(); source = null; }
      retry = window.setTimeout(open, 3000);
    });
  };

  open();
  return () => {
    stopped = true;
    window.clearTimeout(retry);
    source?.close();
  };
}
