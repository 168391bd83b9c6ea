// Latency histograms as horizontal bars, one row per log2 bucket; a family
// that is not loaded on the node says so instead of drawing zeros.
import { histogramBars, type Histogram } from "./derive";
import { h } from "./dom";
import { count, micros, share } from "./format";

export function histogramBlock(x: Histogram): HTMLElement {
  const head = h("div", { class: "hist-head" }, h("span", { class: "hist-title" }, x.title), h("span", { class: "muted" }, ` ${x.unit}`));
  if (!x.buckets) return h("div", { class: "hist" }, head, h("div", { class: "not-measured" }, `not measured (${x.notMeasured})`));
  const bars = histogramBars(x.buckets);
  const p = x.p;
  return h(
    "div",
    { class: "hist" },
    head,
    p && bars.length > 0 ? h("div", { class: "pcts" }, `p50 ${micros(p.p50)} · p90 ${micros(p.p90)} · p99 ${micros(p.p99)}`) : null,
    bars.length === 0
      ? h("div", { class: "muted" }, "none this interval")
      : h(
          "table",
          { class: "bars" },
          h("tbody", null,
            bars.map((b) =>
              h("tr", { title: `${micros(b.lowUs)} – ${micros(b.highUs)}: ${count(b.count)} (${share(b.share)})` },
                h("td", { class: "num range" }, `< ${micros(b.highUs)}`),
                h("td", { class: "num" }, count(b.count)),
                h("td", { class: "barcell" }, h("span", { class: "hbar", style: { width: `${Math.max(0.5, 100 * b.fraction)}%` } })),
              ),
            ),
          ),
        ),
  );
}
