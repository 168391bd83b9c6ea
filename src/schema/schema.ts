// The .proto in schema/ is the single source of truth for what views get:
// every report passes through it, so JSON and protobuf frames agree.
import protobuf from "protobufjs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { Report } from "../model/report.js";

export const SCHEMA_PATH = join(packageRoot, "schema", "mltrace.proto");

let root: protobuf.Root | undefined;

/** schema/mltrace.proto, parsed once per process; field names as written (snake_case). */
export function schemaRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.loadSync(SCHEMA_PATH, { keepCase: true });
  }
  return root;
}

export function reportSchema(): protobuf.Type {
  return schemaRoot().lookupType("mltrace.v1.Report");
}

/** A report checked against the schema, as a plain object with every field. */
export function reportToJson(report: Report): Record<string, unknown> {
  const type = reportSchema();
  // verify() wants enums as numbers; reports carry their names.
  const kinds = (type.lookupEnum("Report.Kind") as protobuf.Enum).values;
  const problem = type.verify({ ...report, kind: kinds[report.kind] });
  if (problem) throw new Error(`report does not match schema/mltrace.proto: ${problem}`);
  const message = type.fromObject(report);
  const json = type.toObject(message, { longs: Number, enums: String, defaults: true, arrays: true, objects: true }) as Record<string, unknown>;
  // proto3 `optional` fields are absent when unset; in JSON say null so the
  // key set is stable for scripts.
  const target = json.target as Record<string, unknown>;
  target.exit_code ??= null;
  target.exit_signal ??= null;
  for (const p of json.processes as Record<string, unknown>[]) {
    p.exit_code ??= null;
    p.exit_signal ??= null;
    p.worker_index ??= null;
  }
  const numa = json.numa as Record<string, unknown>;
  for (const key of ["cross_node_migrations", "local_allocs", "remote_allocs", "miss_allocs", "balancing_moves", "balancing_swaps", "page_migrations", "hint_faults"]) {
    numa[key] ??= null;
  }
  for (const d of json.diagnoses as { subjects: Record<string, unknown>[] }[]) {
    for (const subject of d.subjects) {
      subject.pid ??= null;
      subject.tid ??= null;
    }
  }
  const limits = json.cpu_limits as Record<string, unknown>;
  for (const key of ["cgroup_cpus", "cgroup_version", "cgroup_path", "cgroup_periods", "cgroup_throttled_periods", "cgroup_throttled_ns"]) limits[key] ??= null;
  return json;
}

export function encodeReport(report: Report): Uint8Array {
  const type = reportSchema();
  return type.encode(type.fromObject(report)).finish();
}

export function decodeReport(bytes: Uint8Array): Record<string, unknown> {
  const type = reportSchema();
  return type.toObject(type.decode(bytes), { longs: Number, enums: String, defaults: true, arrays: true, objects: true });
}
