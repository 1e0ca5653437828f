// Services: GET /platform/api/service/list, sortable and filterable; start, stop and restart with a
// confirmation (PUT /platform/api/service/:name {"action"}), administrators only.
import { get, put } from "../api";
import { ADMIN_ONLY, append, confirmAction, h, note, say } from "../dom";
import { isAdmin } from "../session";
import { DataTable } from "../table";

interface Service { name: string; displayName: string; description: string; status: string }

export function render(root: HTMLElement): void {
  const status = note();
  const admin = isAdmin();
  const act = async (s: Service, action: string) => {
    if (!(await confirmAction(`${action[0].toUpperCase()}${action.slice(1)} ${s.name}?`, `${s.displayName}: ${action}.`, action))) return;
    say(status, `${s.name}: ${action}…`, "");
    try {
      await put(`/platform/api/service/${encodeURIComponent(s.name)}`, { action });
      say(status, `${s.name}: ${action} done.`, "ok");
      load();
    } catch (err) { say(status, `${s.name}: ${action}: ${(err as Error).message}`); }
  };
  const table = new DataTable<Service>("Services", [
    { key: "name", label: "Name" },
    { key: "status", label: "State", format: (s) => h("span", { class: `badge ${s.status}` }, s.status) },
    { key: "displayName", label: "Description" },
  ], (s) => ["start", "stop", "restart"].map((action) => h("button", {
    type: "button", disabled: !admin, title: admin ? "" : ADMIN_ONLY, "aria-label": `${action} ${s.name}`,
    onclick: () => act(s, action),
  }, action)));
  append(root, [status, !admin && h("p", { class: "muted" }, ADMIN_ONLY), h("section", { class: "card" }, table.el)]);
  const load = () => get<Service[]>("/platform/api/service/list").then((rows) => table.set(rows), (err) => say(status, `Services: ${err.message}`));
  load();
}
