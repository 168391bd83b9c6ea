import { expect, it } from "vitest";
import { mltraceSync } from "../helpers/mltrace.js";

it("top on a non-terminal says to use mltrace stat and fails", () => {
  const r = mltraceSync(["top", "--", "true"]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("mltrace stat");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stdout).toBe("");
});
