#!/usr/bin/env node
// Open, load, attach, read and destroy every probe family through the addon,
// ASAN_CYCLES times (default 1000), the way a session does: sched with its
// ring poller running, faults, io and numa reusing its maps, this process in
// the target filter, a child forked and reaped every cycle so the programs
// and the ring have something to record, every map read, exited threads
// forgotten, then everything closed. Meant to run under AddressSanitizer
// (scripts/asan-check.sh); works with the normal addon too. Prints the RSS
// every 100 cycles (after a GC, so V8's garbage does not count) and exits
// non-zero if a cycle throws. Needs root and BTF.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./lib.mjs";

const CYCLES = Number(process.env.ASAN_CYCLES ?? 1000);
const dist = (p) => import(join(root, "dist", p));
const { SchedProbes } = await dist("collector/sched-probes.js");
const { FaultProbes } = await dist("collector/faults-probes.js");
const { IoProbes } = await dist("collector/io-probes.js");
const { NumaProbes } = await dist("collector/numa-probes.js");
const { readTopology } = await dist("collector/numa-topology.js");
const { native } = await dist("native/addon.js");

const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
const topology = readTopology();
let events = 0;
let threadsRead = 0;

async function cycle() {
  const sched = new SchedProbes();
  const others = [];
  try {
    others.push(new FaultProbes(sched.bpfObject), new IoProbes(sched.bpfObject), new NumaProbes(sched.bpfObject, topology));
    const [faults, io, numa] = others;
    sched.onProcessEvents(() => events++, (message) => { throw new Error(`ring poller: ${message}`); });
    sched.addTarget(process.pid);
    sched.addThread(process.pid, process.pid, "node");
    spawnSync("/bin/true"); // a fork, an exec and an exit of a traced child
    await new Promise((r) => setImmediate(r)); // lets the poller's batches in
    const { slots, threads } = sched.readThreads();
    const into = [faults.readSlots(slots), io.readSlots(slots), numa.readSlots(slots)];
    threads.forEach((t, i) => into.forEach((read) => read(i, t)));
    threadsRead += threads.length;
    sched.readNeighbours();
    sched.readDrops();
    io.readDevices();
    for (const t of threads) if (t.exited) sched.forgetThread(t.slot, (s) => others.forEach((o) => o.clear(s)));
  } finally {
    for (const o of others.reverse()) o.close();
    sched.close();
  }
}

const series = [];
const started = Date.now();
for (let i = 1; i <= CYCLES; i++) {
  await cycle();
  if (i === 1 || i % 100 === 0) {
    globalThis.gc?.();
    series.push({ cycle: i, rss_mb: +rssMb().toFixed(1) });
    process.stderr.write(`asan-cycles: ${i}/${CYCLES}, RSS ${series.at(-1).rss_mb} MB, ${events} ring events, ${threadsRead} thread records read\n`);
  }
}
// what this process really runs: the addon file and libasan as mapped
const maps = readFileSync("/proc/self/maps", "utf8");
const addon = /\s(\/\S*mltrace_native\.node)$/m.exec(maps)?.[1] ?? "an unknown addon";
const asan = /libasan/.test(maps) ? "libasan loaded" : "no libasan";
console.log(
  `asan-cycles: ${CYCLES} open/load/attach/read/destroy cycles of sched+faults+io+numa through ${addon} in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
    `RSS after cycle ${series[0].cycle}: ${series[0].rss_mb} MB, after cycle ${series.at(-1).cycle}: ${series.at(-1).rss_mb} MB ` +
    `(every 100: ${series.map((s) => s.rss_mb).join(", ")}); ${events} ring events, ${threadsRead} thread records read; ` +
    `${asan}; possible CPUs ${native().possibleCpus()}`,
);
