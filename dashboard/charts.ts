// A line chart of recent intervals (uPlot). Created once per agent and fed
// new arrays each frame; rebuilt only when its series change (a role
// appeared) or the colour scheme flips. Resizes with its box.
import uPlot from "uplot";

export interface SeriesDef {
  label: string;
  /** a CSS custom property holding the colour, e.g. --role-trainer */
  colourVar: string;
  dash?: boolean;
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

export class HistoryChart {
  private plot: uPlot | null = null;
  private key = "";
  private readonly resize: ResizeObserver;

  constructor(
    private readonly box: HTMLElement,
    private readonly format: (v: number) => string,
    private readonly height = 140,
  ) {
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height }));
    this.resize.observe(box);
  }

  private width(): number {
    return Math.max(200, this.box.clientWidth);
  }

  /** xs: seconds since tracing began; ys: one array per series, aligned with xs. */
  update(series: SeriesDef[], xs: number[], ys: number[][]): void {
    const key = series.map((s) => `${s.label}:${s.colourVar}`).join("|");
    if (!this.plot || key !== this.key) this.build(series, key);
    // uPlot draws a gap for null, not for NaN
    const plot = this.plot!;
    plot.setData([xs, ...ys.map((y) => y.map((v) => (Number.isFinite(v) ? v : null)))]);
    // the legend shows the latest interval unless the pointer is over the chart
    if (xs.length > 0 && (plot.cursor.left ?? -1) < 0) plot.setLegend({ idx: xs.length - 1 });
  }

  /** Forget the series so the next update rebuilds with the current colours. */
  restyle(): void {
    this.key = "";
  }

  private build(series: SeriesDef[], key: string): void {
    this.plot?.destroy();
    this.key = key;
    const axis = css("--muted");
    const grid = css("--grid");
    const fmt = this.format;
    const axes: uPlot.Axis[] = [
      { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: (_u, vals) => vals.map((v) => `${v} s`) },
      { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 52, values: (_u, vals) => vals.map(fmt) },
    ];
    const opts: uPlot.Options = {
      width: this.width(),
      height: this.height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(max, 1e-3) * 1.1] } },
      axes,
      series: [
        { label: "t", value: (_u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} s`) },
        ...series.map((s) => ({
          label: s.label,
          stroke: css(s.colourVar),
          width: 1.5,
          dash: s.dash ? [4, 3] : undefined,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "–" : fmt(v)),
        })),
      ],
    };
    this.plot = new uPlot(opts, [[], ...series.map(() => [])], this.box);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
