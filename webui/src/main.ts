// The app shell: login (and the forced change of the factory admin password), the navigation, the
// page router (#/<page>; each page is loaded on first use), and the two things every page shares —
// the "session ended" dialog and the "connection lost" banner.
import "uplot/dist/uPlot.min.css";
import "@xterm/xterm/css/xterm.css";
import "./style.css";
import { ApiError, get, on } from "./api";
import { clear, h, note, say, uid } from "./dom";
import * as session from "./session";

export interface Page {
  id: string;
  title: string;
  load: () => Promise<{ render: (root: HTMLElement) => (() => void) | void }>;
}

const PAGES: Page[] = [
  { id: "dashboard", title: "Dashboard", load: () => import("./pages/dashboard") },
  { id: "system", title: "System", load: () => import("./pages/system") },
  { id: "peripherals", title: "Peripherals", load: () => import("./pages/peripherals") },
  { id: "network", title: "Network", load: () => import("./pages/network") },
  { id: "processes", title: "Processes", load: () => import("./pages/processes") },
  { id: "services", title: "Services", load: () => import("./pages/services") },
  { id: "terminal", title: "Terminal", load: () => import("./pages/terminal") },
  { id: "rdesk", title: "Remote desktop", load: () => import("./pages/rdesk") },
  { id: "edgehub", title: "EdgeHub", load: () => import("./pages/edgehub") },
  { id: "plugins", title: "Plugins", load: () => import("./pages/plugins") },
];

const app = document.getElementById("app")!;
let cleanup: (() => void) | void;
let shown: string | null = null;
let generation = 0;

function stopPage(): void {
  generation += 1;
  if (cleanup) {
    try { cleanup(); } catch { /* a page's teardown never blocks the next one */ }
  }
  cleanup = undefined;
  shown = null;
}

// -- the session ended / the connection was lost ----------------------------------------------------
const dialog = h("dialog", { class: "expired", "aria-labelledby": "expired-title", "data-testid": "session-expired" },
  h("h2", { id: "expired-title" }, "Your session has ended"),
  h("p", { id: "expired-reason" }),
  h("button", { type: "button", class: "primary", onclick: () => { dialog.close(); session.forget(); showLogin(); } }, "Log in again"));
dialog.addEventListener("cancel", (e) => e.preventDefault()); // Escape must not hide it with the session gone
document.body.appendChild(dialog);

on("expired", (reason) => {
  if (!session.claims() || dialog.open) return;
  stopPage();
  dialog.querySelector("#expired-reason")!.textContent = `${reason} Log in again to go on.`;
  dialog.showModal();
});

const banner = h("div", { class: "banner", role: "alert", hidden: true, "data-testid": "offline" });
document.body.prepend(banner);
on("offline", (reason) => {
  clear(banner, h("span", null, `Connection to the device lost: ${reason} Retrying…`), " ",
    h("button", { type: "button", onclick: () => location.reload() }, "Reload"), " ",
    h("button", { type: "button", onclick: () => { session.forget(); showLogin(); banner.hidden = true; } }, "Back to login"));
  banner.hidden = false;
});
on("online", () => { banner.hidden = true; });

// -- login -------------------------------------------------------------------------------------------
function showLogin(message = ""): void {
  stopPage();
  document.title = "Log in · portald";
  const user = uid(), pass = uid();
  const error = note();
  const method = (value: number, label: string, checked = false) =>
    h("label", { class: "radio" }, h("input", { type: "radio", name: "m", value: String(value), checked }), " ", label);
  const form = h("form", { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to this device"),
    h("fieldset", null, h("legend", null, "Account"),
      method(0, "Operating-system account", true), method(2, "Built-in admin account")),
    h("label", { for: user }, "User name"),
    h("input", { id: user, name: "username", autocomplete: "username", required: true, autofocus: true }),
    h("label", { for: pass }, "Password"),
    h("input", { id: pass, name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "primary" }, "Log in"),
    error);
  const username = form.querySelector<HTMLInputElement>(`#${user}`)!;
  form.querySelectorAll<HTMLInputElement>("input[name=m]").forEach((radio) => radio.addEventListener("change", () => {
    if (radio.checked && radio.value === "2" && !username.value) username.value = "admin";
  }));
  if (message) say(error, message, "");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = form.querySelector("button")!;
    button.disabled = true;
    say(error, "Logging in…", "");
    try {
      const claims = await session.login(String(data.get("username")), String(data.get("password")), Number(data.get("m")));
      if (claims.mustChange) showChangePassword(String(data.get("password")));
      else showShell();
    } catch (err) {
      say(error, err instanceof ApiError && err.status === 401 ? "Wrong user name or password, or this account may not log in." : (err as Error).message);
      button.disabled = false;
    }
  });
  clear(app, h("main", { class: "center" }, form));
}

function showChangePassword(factory: string): void {
  stopPage();
  document.title = "Change the admin password · portald";
  const ids = [uid(), uid(), uid()];
  const error = note();
  const field = (id: string, label: string, name: string, auto: string, value = "") => [
    h("label", { for: id }, label),
    h("input", { id, name, type: "password", autocomplete: auto, required: true, value }),
  ];
  const form = h("form", { class: "card login", "aria-labelledby": "chg-title" },
    h("h1", { id: "chg-title" }, "Choose a new admin password"),
    h("p", null, "This device still has the factory password. Choose your own before anything else; every earlier admin session ends."),
    field(ids[0], "Current password", "old", "current-password", factory),
    field(ids[1], "New password", "new", "new-password"),
    field(ids[2], "New password again", "again", "new-password"),
    h("button", { type: "submit", class: "primary" }, "Change password"),
    h("button", { type: "button", onclick: () => { session.forget(); showLogin(); } }, "Cancel"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const old = String(data.get("old")), next = String(data.get("new"));
    if (next !== String(data.get("again"))) return say(error, "The two new passwords differ.");
    if (next === old) return say(error, "The new password must differ from the current one.");
    try {
      await session.changeAdminPassword(old, next);
      await session.login("admin", next, 2);
      showShell();
    } catch (err) {
      say(error, (err as Error).message);
    }
  });
  clear(app, h("main", { class: "center" }, form));
  form.querySelector<HTMLInputElement>(`#${ids[1]}`)!.focus();
}

// -- the shell and the router ------------------------------------------------------------------------
let main: HTMLElement;
let nav: HTMLElement;

function showShell(): void {
  const claims = session.claims()!;
  const role = claims.role === "admin" ? "administrator" : "user (read-only where it changes the machine)";
  nav = h("nav", { "aria-label": "Pages", id: "nav" },
    h("ul", null, PAGES.map((p) => h("li", null, h("a", { href: `#/${p.id}`, "data-page": p.id }, p.title)))));
  const menu = h("button", { type: "button", class: "menu", "aria-controls": "nav", "aria-expanded": "false",
    onclick: () => { const open = nav.classList.toggle("open"); menu.setAttribute("aria-expanded", String(open)); } }, "Menu");
  main = h("main", { id: "main", tabindex: "-1" });
  const device = h("span", { class: "device" });
  clear(app,
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, "Skip to content"),
    h("header", { class: "top" },
      menu, h("span", { class: "brand" }, "portald"), device,
      h("span", { class: "who", "data-testid": "who", "data-role": claims.role }, `${claims.user} · ${role}`),
      h("button", { type: "button", onclick: async () => { stopPage(); await session.logout().catch(() => undefined); showLogin("Logged out."); } }, "Log out")),
    h("div", { class: "layout" }, nav, main));
  get("/platform/api/host/info").then((info) => { device.textContent = info.deviceName || info.hostname || ""; }).catch(() => undefined);
  route();
}

async function route(): Promise<void> {
  if (!session.claims() || !main) return;
  const id = location.hash.replace(/^#\/?/, "") || "dashboard";
  const page = PAGES.find((p) => p.id === id) || PAGES[0];
  if (shown === page.id) return;
  stopPage();
  shown = page.id;
  const mine = generation;
  const focused = document.activeElement; // where the focus was when this page was asked for
  nav.classList.remove("open");
  nav.querySelectorAll("a").forEach((a) => {
    if (a.dataset.page === page.id) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.title = `${page.title} · portald`;
  const heading = h("h1", { tabindex: "-1" }, page.title);
  const body = h("div", { class: "page", "data-page": page.id });
  clear(main, heading, body);
  try {
    const module = await page.load();
    if (mine !== generation) return;
    cleanup = module.render(body);
  } catch (err) {
    say(body.appendChild(note()), `This page could not be loaded: ${(err as Error).message}`);
  }
  // a page opened from the navigation takes the focus to its heading once loaded; focus the user moved
  // meanwhile (Tab to "Skip to content" while the page's code loads) stays where it is
  if (focused && focused === document.activeElement && focused !== document.body && !main.contains(focused)) heading.focus();
}

window.addEventListener("hashchange", () => {
  route();
  main?.querySelector<HTMLElement>("h1")?.focus();
});

function boot(): void {
  const claims = session.claims();
  if (!claims || session.ends(claims) <= Date.now()) {
    session.forget();
    showLogin();
  } else if (claims.mustChange) {
    showChangePassword("");
  } else {
    showShell();
  }
}
boot();
