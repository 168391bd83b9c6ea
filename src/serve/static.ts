// The dashboard's files (built by the dashboard's own build into
// build/dashboard/): index.html at /, the others by name. Only plain names
// under that folder are served: no "..", no encoded separators, no hidden files.
import { readFile, stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

// Letters, digits, '-', '_' and '.' within a segment, not starting with '.'.
const SAFE_PATH = /^(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$/;

/** The file under `dir` that `pathname` names, or null when it names none we would serve. */
export function staticFile(dir: string, pathname: string): string | null {
  const path = pathname === "/" ? "/index.html" : pathname;
  if (!SAFE_PATH.test(path)) return null;
  const file = resolve(join(dir, path));
  return file.startsWith(resolve(dir) + sep) ? file : null;
}

/** Answers with the file, or false when there is none (the caller says 404). */
export async function sendStatic(dir: string, pathname: string, res: ServerResponse, head: boolean, headers: Record<string, string>): Promise<boolean> {
  const file = staticFile(dir, pathname);
  if (!file) return false;
  try {
    if (!(await stat(file)).isFile()) return false;
    const body = await readFile(file);
    res.writeHead(200, { ...headers, "Content-Type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": body.length });
    res.end(head ? undefined : body);
    return true;
  } catch {
    return false;
  }
}
