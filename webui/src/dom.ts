// A small element builder: h("button", {class: "x", onclick: f}, "text", child) -> HTMLElement.
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> | null;

const PROPS = new Set(["value", "checked", "disabled", "selected", "indeterminate"]);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (PROPS.has(key)) {
      (el as any)[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
export function uid(prefix = "f"): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds: number): string {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), hh = Math.floor((seconds % 86400) / 3600);
  const mm = Math.floor((seconds % 3600) / 60), ss = seconds % 60;
  return (d ? `${d} d ` : "") + [hh, mm, ss].map((v) => String(v).padStart(2, "0")).join(":");
}

/** A labelled on/off switch (a checkbox with role=switch). */
export function toggle(label: string, checked: boolean, onchange: (on: boolean, el: HTMLInputElement) => void,
  opts: { disabled?: boolean; title?: string; testid?: string } = {}): HTMLLabelElement {
  const input = h("input", {
    type: "checkbox", role: "switch", checked, disabled: opts.disabled, "data-testid": opts.testid,
    onchange: () => onchange(input.checked, input),
  });
  return h("label", { class: "switch", title: opts.title }, input, h("span", { class: "track", "aria-hidden": "true" }), h("span", null, label));
}

/** A place next to a control where its error (or success) is said in words. */
export function note(): HTMLParagraphElement {
  return h("p", { class: "note", role: "status", "aria-live": "polite" });
}

export function say(el: HTMLElement, message: string, kind: "error" | "ok" | "" = "error"): void {
  el.textContent = message;
  el.className = `note ${kind}`;
}

/** A table in a region that scrolls sideways on a narrow screen (focusable, so keyboards can scroll it). */
export function scroller(label: string, table: HTMLTableElement): HTMLDivElement {
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": label }, table);
}

/** Asks before something that cannot be undone; resolves true when the user confirms. */
export function confirmAction(title: string, text: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const id = uid("dlg");
    const done = (answer: boolean) => { dialog.close(); dialog.remove(); resolve(answer); };
    const dialog = h("dialog", { "aria-labelledby": id, "data-testid": "confirm" },
      h("h2", { id }, title), h("p", null, text),
      h("div", { class: "row" },
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, action),
        h("button", { type: "button", onclick: () => done(false) }, "Cancel")));
    dialog.addEventListener("cancel", () => resolve(false));
    document.body.appendChild(dialog);
    dialog.showModal();
    (dialog.querySelectorAll("button")[1] as HTMLButtonElement).focus();
  });
}

/** A read-only hint for an account that may not change something. */
export const ADMIN_ONLY = "Only an administrator may change this.";
