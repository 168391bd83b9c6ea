// Where time goes per role this interval: a table in CPUs with one bar per
// role (on-CPU, run queue, off-CPU), scaled to the busiest role.
import { roleRows, type RoleRow } from "./derive";
import { h } from "./dom";
import { cpus } from "./format";
import type { Report } from "./types";

export function roleSwatch(role: string): HTMLElement {
  return h("span", { class: `swatch role-${role}`, attrs: { "aria-hidden": "true" } });
}

function bar(r: RoleRow, scale: number): HTMLElement {
  const part = (cls: string, x: number, what: string) =>
    h("span", { class: `seg ${cls}`, style: { width: `${(100 * x) / scale}%` }, title: `${what} ${cpus(x)} CPUs` });
  return h("div", { class: "bar" }, part(`role-${r.role}`, r.oncpu, "on-CPU"), part("runq", r.runq, "run queue"), part("offcpu", r.offcpu, "off-CPU"));
}

export function rolesTable(report: Report): HTMLElement {
  const rows = roleRows(report);
  const scale = Math.max(1e-9, ...rows.map((r) => r.oncpu + r.runq + r.offcpu));
  const num = (x: number) => h("td", { class: "num" }, cpus(x));
  return h(
    "table",
    { class: "grid roles" },
    h(
      "thead",
      null,
      h("tr", null, h("th", null, "role"), h("th", { class: "num" }, "proc"), h("th", { class: "num" }, "thr"),
        h("th", { class: "num", title: "threads' time on a CPU / wall time" }, "on-CPU"),
        h("th", { class: "num", title: "runnable, waiting for a CPU" }, "run queue"),
        h("th", { class: "num", title: "sleeping or blocked" }, "off-CPU"),
        h("th", { class: "barcol" }, h("span", { class: "legend" }, h("i", { class: "key on" }), "on ", h("i", { class: "key runq" }), "runq ", h("i", { class: "key offcpu" }), "off"))),
    ),
    h(
      "tbody",
      null,
      rows.length === 0 ? h("tr", null, h("td", { attrs: { colspan: "7" }, class: "muted" }, "no threads ran this interval")) : null,
      rows.map((r) =>
        h("tr", { attrs: { "data-role": r.role } }, h("td", null, roleSwatch(r.role), r.role), h("td", { class: "num" }, r.processes), h("td", { class: "num" }, r.threads),
          num(r.oncpu), num(r.runq), num(r.offcpu), h("td", { class: "barcol" }, bar(r, scale))),
      ),
    ),
  );
}
