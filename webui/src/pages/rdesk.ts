// Remote desktop: POST /platform/api/rdesk/config (administrators) gives a one-use session id and
// the VNC password; noVNC then speaks RFB over the WebSocket /platform/api/rdesk/<id> (the cookie
// carries the token). The picture is scaled to the box; keyboard and mouse go to the remote desktop
// while the picture has the focus.
import { post } from "../api";
import { ADMIN_ONLY, h, note, say } from "../dom";
import { isAdmin } from "../session";

export function render(root: HTMLElement): () => void {
  const admin = isAdmin();
  const status = note();
  const screen = h("div", { class: "rdesk", "data-testid": "rdesk" });
  let rfb: any = null;
  const start = h("button", { type: "button", class: "primary", disabled: !admin, title: admin ? "" : ADMIN_ONLY, onclick: () => connect() }, "Connect");
  const stop = h("button", { type: "button", hidden: true, onclick: () => rfb?.disconnect() }, "Disconnect");
  root.append(h("p", { class: "muted" }, admin
    ? "The keyboard and mouse of the device's desktop. While the picture has the focus, keys go to the device."
    : `${ADMIN_ONLY} A remote desktop is the device's own keyboard and mouse.`),
  h("div", { class: "row" }, start, stop), status, screen);

  async function connect(): Promise<void> {
    start.disabled = true;
    say(status, "Starting the remote desktop…", "");
    try {
      const [{ default: RFB }, session] = await Promise.all([import("@novnc/novnc"), post("/platform/api/rdesk/config")]);
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      screen.replaceChildren();
      rfb = new RFB(screen, `${scheme}//${location.host}/platform/api/rdesk/${encodeURIComponent(session.id)}`,
        { credentials: { password: session.password } });
      rfb.scaleViewport = true;
      rfb.focusOnClick = true;
      rfb.addEventListener("connect", () => { say(status, "Connected.", "ok"); stop.hidden = false; });
      rfb.addEventListener("disconnect", (e: any) => {
        say(status, e.detail?.clean ? "Disconnected." : "The remote desktop closed unexpectedly.", e.detail?.clean ? "" : "error");
        stop.hidden = true;
        start.disabled = false;
        rfb = null;
      });
      rfb.addEventListener("securityfailure", (e: any) => say(status, `Refused: ${e.detail?.reason || "authentication failed"}`));
      rfb.addEventListener("desktopname", (e: any) => screen.setAttribute("aria-label", `Remote desktop: ${e.detail.name}`));
    } catch (err) {
      say(status, `Remote desktop: ${(err as Error).message}`);
      start.disabled = false;
    }
  }

  return () => rfb?.disconnect();
}
