// Where mltrace's own files are (schema, dashboard, probe objects, the
// addon, workloads), for every layer alike: finding a file must not make a
// module above the collector load native code.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (or installed package) root: dist/ → .. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
