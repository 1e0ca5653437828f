// A live time-series chart (uPlot) with its latest values as text beside it: the canvas for the eye,
// the list for screen readers, keyboards and tests. Series may appear as data arrives.
import uPlot from "uplot";
import { h } from "./dom";

const COLORS = ["#1f6fd1", "#d1431f", "#1f9e5a", "#8a3ad1", "#c98a00", "#0f8f9e", "#c2387a", "#5b6b7a"];
const POINTS = 120;

export class LiveChart {
  readonly el: HTMLElement;
  private plotEl: HTMLElement;
  private list: HTMLElement;
  private plot: uPlot | null = null;
  private names: string[] = [];
  private xs: number[] = [];
  private ys: (number | null)[][] = [];
  private outputs = new Map<string, HTMLElement>();
  private resize: ResizeObserver;

  constructor(id: string, private title: string, private unit: string, private format: (v: number) => string = (v) => v.toFixed(1),
    private range: [number, number] | null = null) {
    this.plotEl = h("div", { class: "plot", role: "img", "aria-label": `${title}: chart of the last two minutes; the latest values are listed below` });
    this.list = h("ul", { class: "now", "aria-label": `${title}, latest values` });
    this.el = h("figure", { class: "chart card", "data-chart": id },
      h("figcaption", null, h("h2", null, `${title}`), h("span", { class: "unit" }, unit)), this.plotEl, this.list);
    this.resize = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.resize.observe(this.plotEl);
  }

  private size() {
    return { width: Math.max(200, this.plotEl.clientWidth), height: 160 };
  }

  private build(): void {
    this.plot?.destroy();
    const opts: uPlot.Options = {
      ...this.size(),
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true, range: (_u, _min, max) => [max - POINTS, max] }, y: this.range ? { range: this.range } : { auto: true } },
      axes: [{ stroke: "#555" }, { stroke: "#555", size: 56, values: (_u, ticks) => ticks.map((v) => this.format(v)) }],
      series: [{}, ...this.names.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 2, points: { show: false } }))],
    };
    this.plot = new uPlot(opts, [this.xs, ...this.ys] as uPlot.AlignedData, this.plotEl);
  }

  /** Adds one sample per series (name -> value) at time t (seconds). */
  push(t: number, values: Record<string, number>): void {
    let rebuild = !this.plot;
    for (const name of Object.keys(values)) {
      if (!this.names.includes(name)) {
        this.names.push(name);
        this.ys.push(this.xs.map(() => null));
        const i = this.names.length - 1;
        const out = h("output", { "data-series": name });
        this.outputs.set(name, out);
        this.list.appendChild(h("li", null, h("span", { class: "swatch", style: `background:${COLORS[i % COLORS.length]}`, "aria-hidden": "true" }), `${name} `, out));
        rebuild = true;
      }
    }
    this.xs.push(t);
    this.names.forEach((name, i) => this.ys[i].push(name in values ? values[name] : null));
    if (this.xs.length > POINTS) {
      this.xs.shift();
      this.ys.forEach((y) => y.shift());
    }
    for (const [name, value] of Object.entries(values)) {
      this.outputs.get(name)!.textContent = `${this.format(value)} ${this.unit}`;
    }
    if (rebuild) this.build();
    else this.plot!.setData([this.xs, ...this.ys] as uPlot.AlignedData);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }
}
