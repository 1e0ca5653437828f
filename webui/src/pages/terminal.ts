// Terminal: xterm.js speaking GoTTY's `webtty` protocol over /platform/api/term/ws (the cookie carries
// the token): every frame is text, its first character the command — "1" output/input (base64),
// "2" ping/pong, "3" title (in) / resize {"columns","rows"} (out), "4" preferences, "5" reconnect,
// "6" buffer size. The terminal's size follows its box (the fit addon), and each change is sent.
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { h, note, say } from "../dom";

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function render(root: HTMLElement): () => void {
  const status = note();
  const title = h("span", { class: "muted" });
  const box = h("div", { class: "term", "data-testid": "terminal" });
  const reconnect = h("button", { type: "button", hidden: true, onclick: () => connect() }, "Open a new session");
  root.append(h("p", { class: "muted" }, "A login shell as your account. Tab goes to the shell; F6 leaves the terminal."),
    h("div", { class: "row" }, reconnect, title), status, box);

  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 2000, screenReaderMode: false });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  term.attachCustomKeyEventHandler((e) => {
    if (e.key === "F6") {
      if (e.type === "keydown") document.querySelector<HTMLElement>("nav a[aria-current]")?.focus();
      return false;
    }
    return true;
  });
  const textarea = box.querySelector("textarea");
  textarea?.setAttribute("aria-label", "Terminal input");

  let ws: WebSocket | null = null;
  let ping: number | undefined;
  const send = (msg: string) => { if (ws?.readyState === WebSocket.OPEN) ws.send(msg); };
  const resize = () => send(`3${JSON.stringify({ columns: term.cols, rows: term.rows })}`);

  function connect(): void {
    reconnect.hidden = true;
    say(status, "Connecting…", "");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/platform/api/term/ws`, ["webtty"]);
    ws = socket;
    socket.onopen = () => {
      say(status, "Connected.", "ok");
      fit.fit();
      resize();
      term.focus();
      ping = window.setInterval(() => send("2"), 30_000);
    };
    socket.onmessage = (event) => {
      const data = String(event.data);
      const body = data.slice(1);
      if (data[0] === "1") term.write(Uint8Array.from(atob(body), (c) => c.charCodeAt(0)));
      else if (data[0] === "3") title.textContent = body;
    };
    socket.onclose = (event) => {
      window.clearInterval(ping);
      if (ws !== socket) return;
      ws = null;
      const why = event.reason || (event.code === 1006 ? "the connection was lost or refused (is the session still valid?)" : `code ${event.code}`);
      say(status, `The terminal closed: ${why}.`, event.code === 1000 ? "" : "error");
      reconnect.hidden = false;
    };
  }

  term.onData((d) => send(`1${toBase64(encoder.encode(d))}`));
  term.onResize(() => resize());
  const observer = new ResizeObserver(() => { try { fit.fit(); } catch { /* not laid out yet */ } });
  observer.observe(box);
  connect();

  return () => {
    observer.disconnect();
    window.clearInterval(ping);
    const socket = ws;
    ws = null;
    socket?.close(1000);
    term.dispose();
  };
}
