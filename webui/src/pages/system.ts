// System: host information, the displays with a screenshot of each, the device manager's tree (by
// class), and reboot / shut down (administrators, with a confirmation).
import { ApiError, get, post } from "../api";
import { ADMIN_ONLY, append, clear, confirmAction, h, note, say, uid } from "../dom";
import { isAdmin } from "../session";

export function render(root: HTMLElement): () => void {
  const admin = isAdmin();
  const urls: string[] = [];
  const card = (title: string, ...children: (Node | null)[]) => {
    const id = uid("sec");
    const el = h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title));
    append(el, children);
    root.append(el);
    return el;
  };

  const infoBody = h("dl", { class: "facts" });
  const infoNote = note();
  card("Host", infoBody, infoNote);
  get("/platform/api/host/info").then((info) => {
    const label = (k: string) => k.replace(/([A-Z])/g, " $1").replace(/^./, (c) => c.toUpperCase());
    clear(infoBody, Object.entries(info).map(([k, v]) => [h("dt", null, label(k)),
      h("dd", null, k === "bootTime" ? new Date((v as number) * 1000).toLocaleString() : String(v === "" ? "—" : v))]));
  }, (err) => say(infoNote, `Host information: ${err.message}`));

  const shots = h("div", { class: "row" });
  const shotNote = note();
  card("Displays", shots, shotNote);
  get<number>("/platform/api/host/display/count").then((count) => {
    if (!count) return say(shotNote, "No display is attached (or none can be read).", "");
    for (let i = 0; i < count; i++) {
      const figure = h("figure", null, h("figcaption", null, `Display ${i}`));
      const button = h("button", { type: "button", onclick: async () => {
        button.disabled = true;
        try {
          const response = await fetch(`/platform/api/host/screenshot/${i}/file`, { credentials: "same-origin" });
          if (!response.ok) throw new ApiError(`Display ${i}: HTTP ${response.status}`, response.status);
          const url = URL.createObjectURL(await response.blob());
          urls.push(url);
          figure.querySelector("img")?.remove();
          figure.appendChild(h("img", { class: "screen", src: url, alt: `Screenshot of display ${i}` }));
        } catch (err) { say(shotNote, (err as Error).message); }
        button.disabled = false;
      } }, `Take a screenshot of display ${i}`);
      shots.append(h("div", null, button, figure));
    }
  }, (err) => say(shotNote, `Displays: ${err.message}`));

  const tree = h("div", { class: "tree" });
  const treeNote = note();
  card("Devices", tree, treeNote);
  get<any[]>("/platform/api/devmgr").then((devices) => {
    const classes = new Map<string, any[]>();
    for (const d of devices) classes.set(d.class || "other", [...(classes.get(d.class || "other") || []), d]);
    clear(tree, [...classes.entries()].sort().map(([cls, list]) => h("details", null,
      h("summary", null, `${cls} (${list.length})`),
      h("ul", null, list.map((d) => h("li", null, h("span", { class: `badge ${d.status === "running" ? "running" : "disabled"}` }, d.status), " ",
        d.name, " ", h("code", { class: "muted" }, d.instancePath)))))));
  }, (err) => say(treeNote, `Devices: ${err.message}`));

  const controlNote = note();
  const control = (what: "reboot" | "shutdown", label: string) => h("button", {
    type: "button", class: "danger", disabled: !admin, title: admin ? "" : ADMIN_ONLY,
    onclick: async () => {
      if (!(await confirmAction(`${label}?`, `The device will ${what === "reboot" ? "restart" : "switch off"} in a moment; this page loses its connection.`, label))) return;
      try {
        await post(`/platform/api/control/${what}`);
        say(controlNote, `${label}: under way.`, "ok");
      } catch (err) { say(controlNote, `${label}: ${(err as Error).message}`); }
    },
  }, label);
  card("Power", h("div", { class: "row" }, control("reboot", "Reboot"), control("shutdown", "Shut down")), controlNote);
  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}
