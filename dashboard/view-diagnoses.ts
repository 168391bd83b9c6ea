// Rules that fired on the latest interval, with the numbers that made them
// fire and what to try, then the recent raised/cleared changes.
import type { ChangeEntry } from "./agent-state";
import { h } from "./dom";
import type { Diagnosis } from "./types";

function evidenceValue(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(Math.abs(v) < 10 ? 3 : 1);
}

export function diagnosesList(diagnoses: Diagnosis[], changes: ChangeEntry[]): HTMLElement {
  const items = diagnoses.map((d) =>
    h("li", { class: `diag sev-${d.severity}`, attrs: { "data-diagnosis": d.id } },
      h("div", null, h("span", { class: `sev sev-${d.severity}` }, d.severity), " ", h("code", null, d.id), " ", h("span", { class: "summary" }, d.summary)),
      h("div", { class: "evidence" }, Object.entries(d.evidence).map(([k, v]) => h("span", { class: "ev" }, h("span", { class: "muted" }, `${k} `), evidenceValue(v)))),
      d.preempted_by.length > 0
        ? h("div", { class: "preempted" }, h("span", { class: "muted" }, "preempted by "), d.preempted_by.slice(0, 5).map((n) => `${n.comm} (${n.pid}) ×${n.count}`).join(", "))
        : null,
      h("div", { class: "suggestion" }, h("span", { class: "muted" }, "try "), d.suggestion),
    ),
  );
  const recent = changes.slice(-5).reverse();
  return h(
    "div",
    null,
    diagnoses.length === 0 ? h("div", { class: "muted" }, "none: no rule fired this interval") : h("ul", { class: "diags" }, items),
    recent.length > 0
      ? h("div", { class: "changes" }, recent.map((c) =>
          h("div", null, h("span", { class: "muted" }, `#${c.seq} `), c.raised ? "raised " : "cleared ", h("code", null, c.id))))
      : null,
  );
}
