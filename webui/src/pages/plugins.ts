// Plugins: what is loaded (GET /platform/api/plugins), which driver serves each capability, and
// every failure with its reason.
import { get } from "../api";
import { h, note, say, scroller } from "../dom";

export function render(root: HTMLElement): void {
  const error = note();
  root.append(error);
  get("/platform/api/plugins").then((data) => {
    const failed = data.plugins.filter((p: any) => p.state === "failed");
    root.append(
      h("p", null, `portald ${data.version}: ${data.plugins.length} plugins, ${failed.length} failed.`),
      h("section", { class: "card", "aria-labelledby": "pl-t" }, h("h2", { id: "pl-t" }, "Plugins"),
        scroller("Plugins", h("table", { "data-testid": "plugins" },
          h("thead", null, h("tr", null, ["Name", "State", "Source", "Origin", "Reason"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, data.plugins.map((p: any) => h("tr", { class: `state-${p.state}` },
            h("th", { scope: "row" }, p.name), h("td", null, h("span", { class: `badge ${p.state}` }, p.state)),
            h("td", null, p.source), h("td", null, h("code", null, p.origin)), h("td", null, p.reason || "—"))))))),
      h("section", { class: "card", "aria-labelledby": "cap-t" }, h("h2", { id: "cap-t" }, "Capabilities and their drivers"),
        scroller("Capabilities and their drivers", h("table", { "data-testid": "capabilities" },
          h("thead", null, h("tr", null, ["Capability", "Plugin", "Driver", "Events"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, Object.entries(data.capabilities).sort().map(([name, cap]: [string, any]) => {
            const driver = data.drivers[name];
            return h("tr", null, h("th", { scope: "row" }, name), h("td", null, cap.plugin),
              h("td", null, driver ? h("code", null, driver.driver) : h("span", { class: "muted" }, cap.interface ? "none (not on this device)" : "needs no driver")),
              h("td", null, (cap.events || []).join(", ") || "—"));
          }))))));
  }, (err) => say(error, `Plugins: ${err.message}`));
}
