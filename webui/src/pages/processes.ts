// Processes: every process (GET /platform/api/processes, refreshed every 5 s while open), sortable and
// filterable; kill with a confirmation (DELETE /platform/api/processes/:pid). An administrator may
// kill any process, another account only its own (the daemon decides; the buttons say the same).
import { del, get } from "../api";
import { bytes, confirmAction, h, note, say } from "../dom";
import { claims, isAdmin } from "../session";
import { DataTable } from "../table";

interface Proc { pid: number; name: string; username: string; cpuPercent: number; memUsage: number; numThreads: number; cmdline?: string }

export function render(root: HTMLElement): () => void {
  const status = note();
  const me = claims()!;
  const table = new DataTable<Proc>("Processes", [
    { key: "pid", label: "PID", num: true },
    { key: "name", label: "Name" },
    { key: "username", label: "User" },
    { key: "cpuPercent", label: "CPU %", num: true, format: (p) => p.cpuPercent.toFixed(1) },
    { key: "memUsage", label: "Memory", num: true, format: (p) => bytes(p.memUsage) },
    { key: "numThreads", label: "Threads", num: true },
    { key: "cmdline", label: "Command line", format: (p) => h("code", null, (p.cmdline || "").slice(0, 120)) },
  ], (p) => {
    const allowed = isAdmin() || p.username === me.user;
    return [h("button", {
      type: "button", class: "danger", disabled: !allowed, "aria-label": `Kill ${p.name} (${p.pid})`,
      title: allowed ? "" : "Only an administrator may end another account's process.",
      onclick: async () => {
        if (!(await confirmAction("End this process?", `${p.name} (PID ${p.pid}, ${p.username}) is sent SIGKILL.`, "Kill"))) return;
        try {
          await del(`/platform/api/processes/${p.pid}`);
          say(status, `Process ${p.pid} ended.`, "ok");
          load();
        } catch (err) { say(status, `Kill ${p.pid}: ${(err as Error).message}`); }
      },
    }, "Kill")];
  }, "cpuPercent", true);
  root.append(status, h("section", { class: "card" }, table.el));
  const load = () => get<Proc[]>("/platform/api/processes").then((rows) => table.set(rows), (err) => say(status, `Processes: ${err.message}`));
  load();
  const timer = window.setInterval(load, 5000);
  return () => window.clearInterval(timer);
}
