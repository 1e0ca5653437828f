// Network: the interfaces; per interface the static / DHCP form; the route order (drag, or the
// Up / Down buttons from the keyboard); Wi-Fi adapters with their profiles and a scan. Every change
// opens the daemon's confirmation window: the page shows the countdown with "Keep" and "Roll back
// now", and without a confirmation the device restores the previous configuration by itself.
import { ApiError, api, del, get, post, put } from "../api";
import { ADMIN_ONLY, append, clear, confirmAction, h, note, say, scroller, uid } from "../dom";
import { isAdmin } from "../session";

interface Nic { ifIndex: number; uuid: string; name: string; type: string; connected: boolean; dhcpEnabled: boolean;
  addresses: string[]; gateway: string[]; dns: string[]; ipv4Metric: number; isDefault: boolean }

const NET = "/platform/api/networking";

const hexOf = (text: string) => Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

function maskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join(".");
}

export function render(root: HTMLElement): () => void {
  const admin = isAdmin();
  const pendingBox = h("section", { class: "card", hidden: true, role: "region", "aria-label": "Change waiting for confirmation", "data-testid": "pending" });
  const ifaces = h("div");
  const ifNote = note();
  const routes = h("div");
  const routeNote = note();
  const wifi = h("div");
  // a change redraws the forms (load()); what was said next to one, and which were open, outlive that
  const kept = new Map<string, string>();
  const keptNote = (key: string) => { const el = note(); if (kept.has(key)) say(el, kept.get(key)!, "ok"); return el; };
  const card = (title: string, ...children: Node[]) => {
    const id = uid("sec");
    const el = h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title));
    append(el, children);
    return el;
  };
  append(root, [!admin && h("p", { class: "muted" }, `${ADMIN_ONLY} You can read every setting.`), pendingBox,
    card("Interfaces", ifaces, ifNote), card("Route order", routes, routeNote), card("Wi-Fi", wifi)]);

  // -- the confirmation window --------------------------------------------------------------------
  let countdown: number | undefined;
  function showPending(p: any): void {
    window.clearInterval(countdown);
    if (!p) { pendingBox.hidden = true; kept.clear(); return; }
    const status = note();
    const left = h("strong", { "data-testid": "seconds-left" }, String(p.secondsLeft));
    const ends = Date.now() + p.secondsLeft * 1000;
    clear(pendingBox, h("h2", null, "Keep this network change?"),
      h("p", null, `${(p.changes || []).join("; ") || "A network change"} is applied. Unless you keep it, the previous configuration comes back in `, left, " s."),
      h("div", { class: "row" },
        h("button", { type: "button", class: "primary", disabled: !admin, onclick: async () => {
          try { await post(p.confirmUrl || `${NET}/changes/${p.id}/confirm`); showPending(null); say(ifNote, "The change is kept.", "ok"); load(); } catch (err) { say(status, (err as Error).message); }
        } }, "Keep the change"),
        h("button", { type: "button", class: "danger", disabled: !admin, onclick: async () => {
          try { await del(`${NET}/changes/${p.id}`); showPending(null); say(ifNote, "Rolled back.", "ok"); load(); } catch (err) { say(status, (err as Error).message); }
        } }, "Roll back now")), status);
    pendingBox.hidden = false;
    countdown = window.setInterval(() => {
      const s = Math.max(0, Math.round((ends - Date.now()) / 1000));
      left.textContent = String(s);
      if (s === 0) { window.clearInterval(countdown); say(status, "Not confirmed: the previous configuration is being restored.", ""); window.setTimeout(load, 3000); }
    }, 1000);
  }
  const applied = (answer: any) => { if (answer?.confirmation) showPending(answer.confirmation); load(); };

  // -- interfaces and their IPv4 form ------------------------------------------------------------
  function ipv4Form(nic: Nic): HTMLElement {
    const status = keptNote(nic.name);
    const v4 = nic.addresses.find((a) => a.includes(".") && a.includes("/")) || "";
    const [ip, prefix] = v4.split("/");
    const ids = [uid(), uid(), uid(), uid(), uid()];
    const input = (i: number, label: string, name: string, value: string, required = true) => [h("label", { for: ids[i] }, label),
      h("input", { id: ids[i], name, value, required, disabled: !admin, inputmode: "decimal", autocomplete: "off" })];
    const mode = (value: string, label: string, checked: boolean) =>
      h("label", { class: "radio" }, h("input", { type: "radio", name: `mode-${nic.ifIndex}`, value, checked, disabled: !admin }), ` ${label}`);
    const form = h("form", { class: "form" },
      h("fieldset", null, h("legend", null, "Address"), mode("dhcp", "DHCP", nic.dhcpEnabled), mode("static", "Static", !nic.dhcpEnabled)),
      input(0, "IP address", "ipAddress", ip || ""), input(1, "Subnet mask", "subnetMask", prefix ? maskOf(Number(prefix)) : ""),
      input(2, "Default gateway", "defaultGateway", nic.gateway[0] || "", false), input(3, "Primary DNS", "primaryDNS", nic.dns[0] || "", false),
      input(4, "Secondary DNS", "secondaryDNS", nic.dns[1] || "", false),
      h("div", null, h("button", { type: "submit", class: "primary", disabled: !admin, title: admin ? "" : ADMIN_ONLY }, `Apply to ${nic.name}`)), status);
    const sync = () => {
      const dhcp = (form.querySelector(`input[name=mode-${nic.ifIndex}]:checked`) as HTMLInputElement)?.value === "dhcp";
      form.querySelectorAll<HTMLInputElement>("input:not([type=radio])").forEach((el) => { el.disabled = !admin || dhcp; });
    };
    form.addEventListener("change", sync);
    sync();
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const dhcp = data.get(`mode-${nic.ifIndex}`) === "dhcp";
      if (!(await confirmAction(`Change ${nic.name}?`, "If this cuts your connection, the device restores the previous configuration when the confirmation window ends.", "Apply"))) return;
      try {
        if (dhcp) applied(await del(`${NET}/ipv4config/${nic.ifIndex}`));
        else {
          const body: Record<string, string | null> = {};
          for (const k of ["ipAddress", "subnetMask", "defaultGateway", "primaryDNS", "secondaryDNS"]) body[k] = String(data.get(k) || "") || null;
          applied(await put(`${NET}/ipv4config/${nic.ifIndex}`, body));
        }
        kept.set(nic.name, "Applied; waiting for your confirmation.");
        say(status, kept.get(nic.name)!, "ok");
      } catch (err) { say(status, (err as Error).message); }
    });
    return form;
  }

  function drawInterfaces(nics: Nic[]): void {
    const open = new Set([...ifaces.querySelectorAll<HTMLElement>("details[open]")].map((d) => d.dataset.nic));
    clear(ifaces, scroller("Interfaces", h("table", { "data-testid": "interfaces" },
      h("thead", null, h("tr", null, ["Name", "Type", "State", "Addresses", "Gateway", "DNS", "DHCP", "Metric"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, nics.map((n) => h("tr", null, h("th", { scope: "row" }, n.name), h("td", null, n.type),
        h("td", null, h("span", { class: `badge ${n.connected ? "connected" : "disabled"}` }, n.connected ? "connected" : "down")),
        h("td", null, n.addresses.join(", ")), h("td", null, n.gateway.join(", ")), h("td", null, n.dns.join(", ")),
        h("td", null, n.dhcpEnabled ? "yes" : "no"), h("td", { class: "num" }, String(n.ipv4Metric))))))),
    nics.filter((n) => n.type !== "Loopback").map((n) => h("details", { "data-nic": n.name, open: open.has(n.name) }, h("summary", null, `Configure ${n.name}`), ipv4Form(n))));
  }

  // -- route order: drag and drop, or Up / Down ------------------------------------------------------
  function drawRoutes(nics: Nic[]): void {
    let order = nics.filter((n) => n.type !== "Loopback").sort((a, b) => a.ipv4Metric - b.ipv4Metric);
    const list = h("ol", { class: "routes", "data-testid": "route-order" });
    let dragged: number | null = null;
    const draw = () => clear(list, order.map((n, i) => {
      const move = (d: number) => { const j = i + d; if (j < 0 || j >= order.length) return; [order[i], order[j]] = [order[j], order[i]]; draw(); (list.children[j].querySelector(`button[data-dir="${d}"]`) as HTMLElement | null)?.focus(); };
      const li = h("li", { draggable: admin ? "true" : "false", "data-uuid": n.uuid },
        h("span", { class: "grip", "aria-hidden": "true" }, "⋮⋮ "), `${n.name} (metric ${n.ipv4Metric})`, " ",
        h("button", { type: "button", "data-dir": "-1", disabled: !admin || i === 0, "aria-label": `Move ${n.name} up`, onclick: () => move(-1) }, "Up"),
        h("button", { type: "button", "data-dir": "1", disabled: !admin || i === order.length - 1, "aria-label": `Move ${n.name} down`, onclick: () => move(1) }, "Down"));
      li.addEventListener("dragstart", (e) => { dragged = i; e.dataTransfer?.setData("text/plain", n.uuid); });
      li.addEventListener("dragover", (e) => e.preventDefault());
      li.addEventListener("drop", (e) => {
        e.preventDefault();
        if (dragged === null || dragged === i) return;
        const [item] = order.splice(dragged, 1);
        order.splice(i, 0, item);
        dragged = null;
        draw();
      });
      return li;
    }));
    draw();
    clear(routes, h("p", { class: "muted" }, "The first interface is preferred for traffic both could carry."), list,
      h("button", { type: "button", class: "primary", disabled: !admin, title: admin ? "" : ADMIN_ONLY, onclick: async () => {
        try {
          applied(await post(`${NET}/interfaces/route`, { ipv6: false, sortedGUIDList: order.map((n) => n.uuid) }));
          say(routeNote, "Route order applied; waiting for your confirmation.", "ok");
        } catch (err) { say(routeNote, (err as Error).message); }
      } }, "Apply this order"));
  }

  // -- Wi-Fi ------------------------------------------------------------------------------------------
  function drawWifi(adapters: any[]): void {
    if (!adapters.length) { clear(wifi, h("p", { class: "muted" }, "No Wi-Fi adapter.")); return; }
    clear(wifi, adapters.map((a) => {
      const status = keptNote(`wifi ${a.uuid}`);
      const scanned = h("div");
      const profiles = h("ul", null, (a.profiles || []).map((p: any) => h("li", null, p.name, " ",
        h("button", { type: "button", class: "danger", disabled: !admin, "aria-label": `Delete profile ${p.name}`, onclick: async () => {
          if (!(await confirmAction(`Delete ${p.name}?`, "The saved Wi-Fi profile is removed.", "Delete"))) return;
          try { applied(await del(`${NET}/wifi/interface/${encodeURIComponent(a.uuid)}/profile/${encodeURIComponent(p.name)}`)); } catch (err) { say(status, (err as Error).message); }
        } }, "Delete"))));
      const scan = async () => {
        say(status, "Scanning…", "");
        try {
          const nets = await get<any[]>(`${NET}/wifi/networks/${encodeURIComponent(a.uuid)}`);
          say(status, `${nets.length} networks found.`, "ok");
          clear(scanned, scroller(`Networks seen by ${a.uuid}`, h("table", null,
            h("thead", null, h("tr", null, ["SSID", "Signal", "Security", ""].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", null, nets.map((n) => h("tr", null, h("th", { scope: "row" }, n.ssid || "(hidden)"),
              h("td", null, `${n.signalQuality}%`), h("td", null, n.authenticationAlgorithm || "open"),
              h("td", null, n.alreadyConnected ? "connected" : joinForm(a, n, status))))))));
        } catch (err) { say(status, (err as Error).message); }
      };
      return h("div", null, h("h3", null, `${a.uuid}: ${a.description}`), h("p", null, "Saved profiles:"), profiles,
        h("button", { type: "button", onclick: scan }, "Scan for networks"), status, scanned);
    }));
  }

  function joinForm(a: any, n: any, status: HTMLElement): HTMLElement {
    const id = uid();
    const form = h("form", { class: "row" },
      n.securityEnabled ? [h("label", { for: id, class: "visually-hidden" }, `Passphrase for ${n.ssid}`),
        h("input", { id, type: "password", placeholder: "passphrase", autocomplete: "off", disabled: !admin })] : null,
      h("button", { type: "submit", disabled: !admin, title: admin ? "" : ADMIN_ONLY }, "Join"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      // a name that is not UTF-8 reaches the page with U+FFFD in it: only its bytes (ssidHex) name it
      const exact = !!n.ssid && (!n.ssidHex || hexOf(n.ssid) === String(n.ssidHex).toLowerCase());
      const body: Record<string, string> = exact ? { ssid: n.ssid } : { ssidHex: n.ssidHex };
      const pass = form.querySelector("input") as HTMLInputElement | null;
      if (pass?.value) body.passphrase = pass.value;
      try {
        const answer = await post(`${NET}/wifi/interface/${encodeURIComponent(a.uuid)}/connect`, body);
        kept.set(`wifi ${a.uuid}`, `Joining ${n.ssid}; waiting for your confirmation.`);
        say(status, kept.get(`wifi ${a.uuid}`)!, "ok");
        applied(answer);
      } catch (err) { say(status, (err as Error).message); }
    });
    return form;
  }

  function load(): void {
    get<Nic[]>(`${NET}/interfaces`).then((nics) => { drawInterfaces(nics); drawRoutes(nics); }, (err: ApiError) => say(ifNote, err.message));
    get<any[]>(`${NET}/wifi/interfaces`).then(drawWifi, (err: ApiError) => clear(wifi, h("p", { class: "muted" }, err.status === 404 ? "No Wi-Fi on this device." : err.message)));
    api("GET", `${NET}/changes`).then((c) => showPending(c?.pending), () => undefined);
  }
  load();
  return () => window.clearInterval(countdown);
}
