// Not built yet.
import { h } from "../dom";

export function render(root: HTMLElement): void {
  root.append(h("p", { class: "card" }, "This page is not built yet."));
}
