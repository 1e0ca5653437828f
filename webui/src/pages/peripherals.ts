// Peripherals: LEDs and GPIO pins as switches, the watchdog with its timeout, the backlight's
// brightness, redundant power inputs, and the ETP user data with its lock. Each section loads on its
// own; a peripheral this device lacks (404) says so; only an administrator's controls are enabled.
import { ApiError, get, put } from "../api";
import { ADMIN_ONLY, append, clear, h, note, say, scroller, toggle, uid } from "../dom";
import { isAdmin } from "../session";

function section(root: HTMLElement, title: string, load: (body: HTMLElement, status: HTMLElement) => Promise<void>): void {
  const id = uid("sec");
  const body = h("div");
  const status = note();
  root.append(h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), body, status));
  load(body, status).catch((err: ApiError) => {
    if (err.status === 404) say(status, "Not on this device.", "");
    else say(status, err.message);
  });
}

export function render(root: HTMLElement): void {
  const admin = isAdmin();
  const grid = h("div", { class: "grid2" });
  append(root, [!admin && h("p", { class: "muted" }, `${ADMIN_ONLY} You can read every value.`), grid]);

  section(grid, "LEDs", async (body, status) => {
    const leds = await get<boolean[]>("/platform/api/perif/led");
    clear(body, h("div", { class: "row" }, leds.map((on, i) => toggle(`LED ${i}`, on, async (value, input) => {
      try {
        await put(`/platform/api/perif/led/${i}`, { status: value });
        input.checked = await get<boolean>(`/platform/api/perif/led/${i}`);
        say(status, `LED ${i} ${input.checked ? "on" : "off"}.`, "ok");
      } catch (err) { input.checked = !value; say(status, `LED ${i}: ${(err as Error).message}`); }
    }, { disabled: !admin, title: admin ? "" : ADMIN_ONLY, testid: `led-${i}` }))));
  });

  section(grid, "GPIO", async (body, status) => {
    const pins = await get<{ pin: number; dir: number; level: number }[]>("/platform/api/perif/gpio/all");
    const rows = pins.map((p) => {
      const level = toggle(`Pin ${p.pin} level high`, p.level === 1, async (on, input) => {
        try {
          await put(`/platform/api/perif/gpio/${p.pin}/level`, { level: on ? 1 : 0 });
          const now = await get(`/platform/api/perif/gpio/${p.pin}`);
          input.checked = now.level === 1;
          say(status, `Pin ${p.pin} is now ${now.level ? "high" : "low"}.`, "ok");
        } catch (err) { input.checked = !on; say(status, `Pin ${p.pin}: ${(err as Error).message}`); }
      }, { disabled: !admin || p.dir !== 0, title: !admin ? ADMIN_ONLY : p.dir !== 0 ? "An input pin's level is read, not set." : "", testid: `gpio-${p.pin}-level` });
      const dirId = uid();
      const dir = h("select", {
        id: dirId, disabled: !admin, title: admin ? "" : ADMIN_ONLY, "data-testid": `gpio-${p.pin}-dir`,
        onchange: async () => {
          const want = Number(dir.value);
          try {
            await put(`/platform/api/perif/gpio/${p.pin}/dir`, { dir: want });
            p.dir = want;
            const input = level.querySelector("input")!;
            input.disabled = !admin || want !== 0;
            say(status, `Pin ${p.pin} is now an ${want ? "input" : "output"}.`, "ok");
          } catch (err) { dir.value = String(p.dir); say(status, `Pin ${p.pin}: ${(err as Error).message}`); }
        },
      }, h("option", { value: "0", selected: p.dir === 0 }, "output"), h("option", { value: "1", selected: p.dir === 1 }, "input"));
      return h("tr", null, h("th", { scope: "row" }, `Pin ${p.pin}`),
        h("td", null, h("label", { for: dirId, class: "visually-hidden" }, `Pin ${p.pin} direction`), dir), h("td", null, level));
    });
    clear(body, scroller("GPIO pins", h("table", { "data-testid": "gpio" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Pin"), h("th", { scope: "col" }, "Direction"), h("th", { scope: "col" }, "Level"))),
      h("tbody", null, rows))));
  });

  section(grid, "Watchdog", async (body, status) => {
    const wdt = await get("/platform/api/perif/wdt");
    const sid = uid();
    const seconds = h("input", { id: sid, type: "number", min: wdt.timeoutMinInSeconds, max: wdt.timeoutMaxInSeconds, value: wdt.timeoutInSeconds, disabled: !admin, required: true });
    const enabled = toggle("Enabled", wdt.enabled, () => undefined, { disabled: !admin, testid: "wdt-enabled" });
    const form = h("form", { class: "form" },
      h("p", { class: "muted" }, `${wdt.type}: the machine restarts unless the watchdog is fed within the timeout.`), enabled,
      h("label", { for: sid }, `Timeout in seconds (${wdt.timeoutMinInSeconds}–${wdt.timeoutMaxInSeconds})`), seconds,
      h("div", null, h("button", { type: "submit", class: "primary", disabled: !admin, title: admin ? "" : ADMIN_ONLY }, "Apply")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const on = enabled.querySelector("input")!.checked;
        const answer = await put("/platform/api/perif/wdt", { enabled: on, seconds: Number(seconds.value) });
        say(status, `Watchdog ${answer.enabled ? "enabled" : "disabled"}, timeout ${answer.seconds ?? seconds.value} s.`, "ok");
      } catch (err) { say(status, (err as Error).message); }
    });
    clear(body, form);
  });

  section(grid, "Brightness", async (body, status) => {
    const b = await get("/platform/api/perif/brightness");
    const id = uid();
    const out = h("output", { for: id }, String(b.value));
    // one write at a time, each sending the slider's value when it starts: arrow keys fire a change per
    // press, and parallel requests may land out of order and leave the backlight off the slider's value
    let writes = Promise.resolve();
    let sent = b.value;
    const write = async () => {
      const value = Number(slider.value);
      if (value === sent) return;
      try {
        await put("/platform/api/perif/brightness", { value });
        sent = value;
        say(status, `Brightness ${value}.`, "ok");
      } catch (err) { say(status, (err as Error).message); }
    };
    const slider = h("input", {
      id, type: "range", min: b.min, max: b.max, step: 1, value: b.value, disabled: !admin, title: admin ? "" : ADMIN_ONLY,
      oninput: () => { out.textContent = slider.value; },
      onchange: () => { writes = writes.then(write); },
    });
    clear(body, h("div", { class: "row" }, h("label", { for: id }, "Backlight"), slider, out));
  });

  section(grid, "Redundant power", async (body) => {
    const p = await get("/platform/api/perif/redundant_power");
    const state = (v: number) => (v === 1 ? "power present" : v === 0 ? "no power" : `state ${v}`);
    clear(body, h("dl", { class: "facts" }, Object.entries(p).map(([k, v]) => [h("dt", null, k.replace(/State$/, "").toUpperCase()), h("dd", null, state(v as number))])));
  });

  const etp = async (body: HTMLElement, status: HTMLElement): Promise<void> => {
    const data = await get("/platform/api/etp/userdata");
    const ids = [uid(), uid(), uid()];
    const locked = !!data.locked;
    const field = (id: string, label: string, value: string) => [h("label", { for: id }, label),
      h("input", { id, maxlength: 128, value: value || "", disabled: !admin || locked })];
    const form = h("form", { class: "form" },
      h("p", null, locked ? "The user data area is locked." : "The user data area is unlocked."),
      field(ids[0], "User space 1 (up to 128 bytes)", data.data?.userSpace1),
      field(ids[1], "User space 2 (up to 128 bytes)", data.data?.userSpace2),
      h("div", null, h("button", { type: "submit", class: "primary", disabled: !admin || locked }, "Save")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await put("/platform/api/etp/userdata", { userSpace1: (form.querySelector(`#${ids[0]}`) as HTMLInputElement).value, userSpace2: (form.querySelector(`#${ids[1]}`) as HTMLInputElement).value });
        say(status, "User data saved.", "ok");
      } catch (err) { say(status, (err as Error).message); }
    });
    const lock = h("form", { class: "form" },
      h("label", { for: ids[2] }, "Lock password (up to 8 characters)"),
      h("input", { id: ids[2], type: "password", maxlength: 8, autocomplete: "off", disabled: !admin }),
      h("div", null, h("button", { type: "submit", disabled: !admin, title: admin ? "" : ADMIN_ONLY }, locked ? "Unlock" : "Lock")));
    lock.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await put("/platform/api/etp/userdata/lockstatus", { locked: !locked, password: (lock.querySelector("input") as HTMLInputElement).value });
        await etp(body, status);
        say(status, locked ? "Unlocked." : "Locked.", "ok");
      } catch (err) { say(status, (err as Error).message); }
    });
    clear(body, form, lock);
  };
  section(grid, "ETP user data", etp);
}
