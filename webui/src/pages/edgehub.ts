// EdgeHub: the cloud link's status (with the outbox's depth), connect / disconnect, its connection
// settings (secrets masked, shown only on request), EdgeBus's broker status and AppHub's service.
import { ApiError, del, get, post, put } from "../api";
import { ADMIN_ONLY, append, clear, confirmAction, h, note, say, uid } from "../dom";
import { isAdmin } from "../session";

const EH = "/edgehub/api";
const SECRETS = new Set(["password", "connectionString", "iotKey", "deviceTokenCredential"]);

export function render(root: HTMLElement): () => void {
  const admin = isAdmin();
  const card = (title: string, ...children: Node[]) => {
    const id = uid("sec");
    const el = h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title));
    append(el, children);
    return el;
  };
  const link = h("div"), linkNote = note();
  const cfg = h("div"), cfgNote = note();
  const bus = h("div"), busNote = note();
  const hub = h("div"), hubNote = note();
  append(root, [!admin && h("p", { class: "muted" }, `${ADMIN_ONLY} You can read the status.`),
    h("div", { class: "grid2" }, card("Cloud connection", link, linkNote), card("EdgeBus", bus, busNote), card("AppHub", hub, hubNote)),
    card("Connection settings", cfg, cfgNote)]);

  const facts = (pairs: [string, unknown][]) => h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, String(v))]));
  const button = (label: string, run: () => Promise<unknown>, status: HTMLElement, cls = "") =>
    h("button", { type: "button", class: cls, disabled: !admin, title: admin ? "" : ADMIN_ONLY, onclick: async () => {
      try { await run(); say(status, `${label}: done.`, "ok"); loadStatus(); } catch (err) { say(status, `${label}: ${(err as Error).message}`); }
    } }, label);

  const linkFacts = h("div"), busFacts = h("div"), hubFacts = h("div");
  // the buttons are made once (a refresh must not take the keyboard's focus away)
  clear(link, linkFacts, h("div", { class: "row" },
    button("Connect", () => post(`${EH}/connection`, { op: "connect" }), linkNote, "primary"),
    button("Disconnect", () => post(`${EH}/connection`, { op: "disconnect" }), linkNote)));
  clear(bus, busFacts);
  clear(hub, hubFacts, h("div", { class: "row" }, ["start", "stop", "restart"].map((action) =>
    button(action, () => put(`${EH}/apphub/service`, { action }), hubNote))));

  function loadStatus(): void {
    get(`${EH}/connection`).then((c) => clear(linkFacts,
      facts([["Status", c.status], ["Enabled", c.enabled ? "yes" : "no"], ["Outbox", `${c.outbox?.depth ?? 0} of ${c.outbox?.maxMessages ?? "?"} messages waiting`],
        ["Dropped", c.outbox?.dropped ?? 0], ["Certificate revoked", c.certRevoked ? "yes" : "no"], ["Connection storm", c.stormDetected ? "detected" : "no"],
        ["Last error", c.lastError || "—"]])),
    (err: ApiError) => say(linkNote, err.message));
    get(`${EH}/edgebus/status`).then((b) => clear(busFacts, facts([["Enabled", b.enabled ? "yes" : "no"], ["Client", b.clientStatus],
      ["Broker version", b.mqttBrokerStatus?.version || "—"], ["Clients connected", b.mqttBrokerStatus?.clients_connected ?? 0],
      ["Messages in / out", `${b.mqttBrokerStatus?.messages_received ?? 0} / ${b.mqttBrokerStatus?.messages_sent ?? 0}`]])),
    (err: ApiError) => say(busNote, err.status === 404 ? "Not on this device." : err.message));
    get(`${EH}/apphub/status`).then((a) => clear(hubFacts, facts([["Service", a.status]])),
      (err: ApiError) => say(hubNote, err.status === 404 ? "Not on this device." : err.message));
  }

  function settingsForm(current: Record<string, any>): HTMLElement {
    const field = (name: string, label: string, type = "text", value: unknown = current[name]) => {
      const id = uid();
      const input = h("input", { id, name, type: SECRETS.has(name) ? "password" : type, value: value ?? "", disabled: !admin, autocomplete: "off" });
      const reveal = SECRETS.has(name) ? h("button", { type: "button", "aria-pressed": "false", "aria-label": `Show ${label}`, disabled: !admin, onclick: () => {
        const shown = input.type === "password";
        input.type = shown ? "text" : "password";
        reveal!.setAttribute("aria-pressed", String(shown));
      } }, "Show") : null;
      return [h("label", { for: id }, label), h("div", { class: "row" }, input, reveal)];
    };
    const check = (name: string, label: string) => {
      const id = uid();
      return h("label", { for: id, class: "radio" }, h("input", { id, name, type: "checkbox", checked: !!current[name], disabled: !admin }), ` ${label}`);
    };
    const form = h("form", { class: "form", "data-testid": "conncfg" },
      field("mqttHost", "MQTT host"), field("mqttPort", "MQTT port", "number", current.mqttPort ?? 1883),
      field("username", "User name"), field("password", "Password"),
      check("enableTLS", "TLS"), check("overWebSocket", "Over WebSocket"),
      field("connectionString", "Connection string (optional)"),
      field("dccsUrl", "DeviceOn credential service URL (optional)", "url", current.deviceon?.dccsUrl),
      field("iotKey", "DeviceOn IoT key (optional)", "text", current.deviceon?.iotKey),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", disabled: !admin, title: admin ? "" : ADMIN_ONLY }, "Save settings"),
        h("button", { type: "button", class: "danger", disabled: !admin, onclick: async () => {
          if (!(await confirmAction("Delete the connection settings?", "The device forgets its cloud connection settings.", "Delete"))) return;
          try { await del(`${EH}/conncfg`); say(cfgNote, "Settings deleted.", "ok"); loadSettings(); } catch (err) { say(cfgNote, (err as Error).message); }
        } }, "Delete settings")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const d = new FormData(form);
      const text = (k: string) => String(d.get(k) || "");
      const body: Record<string, unknown> = {
        username: text("username"), password: text("password"), mqttHost: text("mqttHost"), mqttPort: Number(text("mqttPort")),
        enableTLS: d.get("enableTLS") === "on", overWebSocket: d.get("overWebSocket") === "on",
      };
      if (text("connectionString")) body.connectionString = text("connectionString");
      if (text("dccsUrl") || text("iotKey")) body.deviceon = { dccsUrl: text("dccsUrl"), iotKey: text("iotKey") };
      try { await post(`${EH}/conncfg`, body); say(cfgNote, "Settings saved.", "ok"); } catch (err) { say(cfgNote, (err as Error).message); }
    });
    return form;
  }

  function loadSettings(): void {
    get(`${EH}/conncfg`).then((c) => clear(cfg, settingsForm(c)), (err: ApiError) => {
      clear(cfg, settingsForm({}));
      if (err.status !== 404) say(cfgNote, err.message);
    });
  }

  loadStatus();
  loadSettings();
  const timer = window.setInterval(loadStatus, 5000);
  return () => window.clearInterval(timer);
}
