// A sortable, filterable table (processes, services): column headers are buttons that sort (aria-sort
// says how), a text box filters on every column, an optional last column holds each row's actions.
import { clear, h, scroller, uid } from "./dom";

export interface Column<T> {
  key: keyof T & string;
  label: string;
  num?: boolean;
  format?: (row: T) => string | Node;
}

export class DataTable<T extends Record<string, any>> {
  readonly el: HTMLElement;
  private body = h("tbody");
  private head = h("tr");
  private filter: HTMLInputElement;
  private count = h("span", { class: "muted", role: "status" });
  private rows: T[] = [];
  private sortKey: string;
  private sortDir = 1;

  constructor(label: string, private columns: Column<T>[], private actions?: (row: T) => Node[], sortKey?: string, descending = false) {
    this.sortKey = sortKey || columns[0].key;
    this.sortDir = descending ? -1 : 1;
    const fid = uid();
    this.filter = h("input", { id: fid, type: "search", autocomplete: "off", oninput: () => this.draw() });
    this.el = h("div", null,
      h("div", { class: "toolbar" }, h("label", { for: fid }, "Filter", this.filter), this.count),
      scroller(label, h("table", { "data-testid": label.toLowerCase() }, h("thead", null, this.head), this.body)));
  }

  set(rows: T[]): void {
    this.rows = rows;
    this.draw();
  }

  private sortBy(key: string): void {
    this.sortDir = this.sortKey === key ? -this.sortDir : 1;
    this.sortKey = key;
    this.draw();
  }

  private draw(): void {
    clear(this.head, this.columns.map((c) => h("th", {
      scope: "col", class: c.num ? "num" : "",
      "aria-sort": c.key === this.sortKey ? (this.sortDir > 0 ? "ascending" : "descending") : "none",
    }, h("button", { type: "button", class: "sort", onclick: () => this.sortBy(c.key) },
      c.label, c.key === this.sortKey ? (this.sortDir > 0 ? " ▲" : " ▼") : ""))),
    this.actions ? h("th", { scope: "col" }, "Actions") : null);
    const needle = this.filter.value.trim().toLowerCase();
    const key = this.sortKey, dir = this.sortDir;
    const shown = this.rows
      .filter((r) => !needle || this.columns.some((c) => String(r[c.key] ?? "").toLowerCase().includes(needle)))
      .sort((a, b) => {
        const x = a[key], y = b[key];
        return (typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""))) * dir;
      });
    this.count.textContent = `${shown.length} of ${this.rows.length}`;
    clear(this.body, shown.map((r) => h("tr", null,
      this.columns.map((c, i) => h(i === 0 ? "th" : "td", { class: c.num ? "num" : "", scope: i === 0 ? "row" : undefined },
        c.format ? c.format(r) : String(r[c.key] ?? ""))),
      this.actions ? h("td", null, h("div", { class: "row" }, this.actions(r))) : null)));
  }
}
