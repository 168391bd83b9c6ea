// kill -9 of mltrace at random moments: while node starts and the probes
// load, while they attach, while a large tree is adopted, while tracing,
// while the final report is written, and while `serve` has clients. After
// each kill: every BPF program, link and map mltrace held is gone from the
// kernel (bpftool, matched by the ids read from its fds just before the
// kill), no launched command is left waiting at the launch gate, and a
// command that was past the gate is still running (then this script ends it).
//
//   node bench/kill-loop.mjs [KILLS] [SEED]     (root; default 100 kills)
//
// test/ebpf/kill-loop.test.ts runs 20 of the same through killLoop().
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { cli, root } from "./lib.mjs";

const taskfarm = join(root, "build", "workloads", "taskfarm");
const TOKEN = "kill-loop-token-0123456789abcdef";
const GATE_SCRIPT = "read -r _ <&3";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32): the same seed, the same moments. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Program, link and map ids a process holds, from its fds' fdinfo. */
function held(pid) {
  const out = { progs: new Set(), links: new Set(), maps: new Set() };
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    let info;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    const link = /^link_id:\s*(\d+)/m.exec(info);
    const prog = /^prog_id:\s*(\d+)/m.exec(info);
    const map = /^map_id:\s*(\d+)/m.exec(info);
    if (link) out.links.add(Number(link[1]));
    else if (prog) out.progs.add(Number(prog[1]));
    else if (map) out.maps.add(Number(map[1]));
  }
  return out;
}

function merge(into, from) {
  for (const k of ["progs", "links", "maps"]) for (const id of from[k]) into[k].add(id);
}

/** Ids the kernel has now, per kind (bpftool prog/link/map show -j). */
function inKernel() {
  const ids = (what) => {
    const r = spawnSync("bpftool", ["-j", what, "show"], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`bpftool ${what} show failed: ${r.stderr}`);
    return new Set(JSON.parse(r.stdout).map((e) => e.id));
  };
  return { progs: ids("prog"), links: ids("link"), maps: ids("map") };
}

/** Processes whose command line holds `marker`: [pid, at the gate?]. */
function marked(marker) {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmdline.includes(marker)) out.push({ pid: Number(name), atGate: cmdline.includes(GATE_SCRIPT) });
  }
  return out;
}

function stateOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

async function until(what, check, ms) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The phase mltrace was in at the kill, from what it held and had said:
 * node starting (nothing held), probes loading (maps, programs), attaching
 * (links, but the command not yet let through the gate), adopting a --pid
 * tree (not yet announced), tracing, serving with clients, or writing its
 * report.
 */
function phaseOf(h, { stderr, stdout, command, exited }) {
  if (exited) return "exited";
  if (stdout.length > 0) return "writing the report";
  if (h.progs.size === 0) return h.maps.size === 0 ? "starting" : "loading";
  if (h.links.size === 0 || command === "never started") return "attaching";
  if (command === "none" && !/tracing PID/.test(stderr)) return "adopting the tree";
  return /dashboard http/.test(stderr) ? "serving" : "tracing";
}

/**
 * One scenario: how mltrace is started, the window (ms after the spawn, or
 * after `ready` when given) in which the kill falls, and what to do once it
 * is ready (serve: connect clients).
 */
function scenarios(tree) {
  const mark = () => `${1000 + Math.floor(Math.random() * 9000)}.${process.pid}${Math.floor(Math.random() * 1e6)}`;
  return [
    { name: "launch", args: (m) => ["stat", "-o", "/dev/null", "--", "sleep", m], window: [0, 900], mark },
    { name: "adopt", args: () => ["stat", "-o", "/dev/null", "--pid", String(tree)], window: [150, 1200] },
    { name: "steady", args: (m) => ["stat", "--interval", "0.1", "-o", "/dev/null", "--", "sleep", m], window: [600, 1400], mark },
    // the report of a 300-task tree after 0.3 s: the kill lands before, during or after it is written
    { name: "report", args: () => ["stat", "--json", "--interval", "0.1", "--duration", "0.3", "--pid", String(tree)], window: [300, 1300] },
    {
      name: "serve",
      args: (m) => ["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--interval", "0.2", "--", "sleep", m],
      mark,
      ready: (stderr) => /dashboard http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1],
      window: [0, 500],
    },
  ];
}

/** Opens `n` feed clients on the agent's port; resolves once all are open. */
async function clients(port, n) {
  const sockets = [];
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/feed`, ["mltrace.v1"], { headers: { Authorization: `Bearer ${TOKEN}` } });
        ws.on("open", resolve);
        ws.on("error", reject);
        sockets.push(ws);
      }),
    ),
  );
  return sockets;
}

async function killOnce(scenario, rand) {
  const marker = scenario.mark?.();
  const child = spawn(process.execPath, [cli, ...scenario.args(marker)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.on("data", (d) => (stdout += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const seen = { progs: new Set(), links: new Set(), maps: new Set() };
  let sockets = [];
  const poll = setInterval(() => merge(seen, held(child.pid)), 5);
  try {
    if (scenario.ready) {
      let port;
      await until("the agent to listen", () => (port = scenario.ready(stderr)) !== undefined || child.exitCode !== null, 20_000);
      if (port) sockets = await clients(Number(port), 2);
    }
    const [from, to] = scenario.window;
    await sleep(from + rand() * (to - from));
  } finally {
    clearInterval(poll);
  }
  // The last look and the kill, back to back (nothing runs in between).
  const last = held(child.pid);
  const alreadyExited = child.exitCode !== null;
  child.kill("SIGKILL");
  merge(seen, last);
  await exited;
  for (const ws of sockets) ws.terminate();

  // The kernel frees programs and maps once the last reference goes (maps after RCU).
  let leftover;
  await until(
    "mltrace's programs, links and maps to be released",
    () => {
      const now = inKernel();
      leftover = ["progs", "links", "maps"].flatMap((k) => [...seen[k]].filter((id) => now[k].has(id)).map((id) => `${k.slice(0, -1)} ${id}`));
      return leftover.length === 0;
    },
    5000,
  ).catch(() => {
    throw new Error(`${scenario.name}: still in the kernel after kill -9: ${leftover.join(", ")}`);
  });

  let command = "none";
  if (marker) {
    // A gate that lost its mltrace reads EOF and exits: nothing stays held there.
    await until("no command left at the launch gate", () => marked(marker).every((p) => !p.atGate), 3000).catch(() => {
      throw new Error(`${scenario.name}: a launched command is still waiting at the gate`);
    });
    const running = marked(marker);
    if (running.length > 0) {
      // Past the gate: it keeps running without mltrace, as under perf stat.
      for (const p of running) {
        const state = stateOf(p.pid);
        if (state === "T" || state === "t") throw new Error(`${scenario.name}: the launched command ${p.pid} is stopped`);
        process.kill(p.pid, "SIGKILL");
      }
      command = "kept running";
    } else {
      command = "never started";
    }
  }
  const phase = phaseOf(last, { stderr, stdout, command, exited: alreadyExited });
  return { scenario: scenario.name, phase, command, held: last.progs.size + last.links.size + last.maps.size };
}

/** Starts the tree `adopt` attaches to: 100 processes and 200 threads, parked. */
function startTree() {
  const tree = spawn(taskfarm, ["--procs", "100", "--threads", "200", "--hold-s", "3600"], { stdio: "ignore" });
  return tree;
}

function treeTasks(pid) {
  const tasks = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(name) === pid || Number(fields[1]) === pid) {
        for (const tid of readdirSync(`/proc/${name}/task`)) tasks.push(stateOf(Number(tid)));
      }
    } catch {
      // gone meanwhile
    }
  }
  return tasks;
}

/**
 * `kills` kills, cycling through the scenarios, at moments drawn from
 * `seed`. Returns one result per kill; throws at the first violation.
 */
export async function killLoop(kills, seed, log = () => {}) {
  const rand = random(seed);
  const tree = startTree();
  try {
    await until("the tree to start", () => treeTasks(tree.pid).length >= 301, 20_000);
    const list = scenarios(tree.pid);
    const results = [];
    for (let i = 0; i < kills; i++) {
      const scenario = list[i % list.length];
      const r = await killOnce(scenario, rand);
      results.push(r);
      log(`${i + 1}/${kills} ${r.scenario}: killed while ${r.phase} (${r.held} BPF objects held), command ${r.command}`);
    }
    // The adopted tree went on as if nothing happened: every task still there, none stopped.
    const tasks = treeTasks(tree.pid);
    if (tasks.length !== 301 || tasks.some((s) => s === "T" || s === "t")) throw new Error(`the adopted tree was disturbed: ${tasks.length} tasks, states ${[...new Set(tasks)]}`);
    return results;
  } finally {
    tree.kill("SIGKILL");
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const kills = Number(process.argv[2] ?? 100);
  const seed = Number(process.argv[3] ?? Date.now() % 1e9);
  process.stderr.write(`kill loop: ${kills} kills, seed ${seed}\n`);
  const started = Date.now();
  const results = await killLoop(kills, seed, (line) => process.stderr.write(`${line}\n`));
  const table = new Map();
  for (const r of results) {
    const key = `${r.scenario} | ${r.phase} | ${r.command}`;
    table.set(key, (table.get(key) ?? 0) + 1);
  }
  console.log(`\n${kills} kills (seed ${seed}) in ${((Date.now() - started) / 1000).toFixed(0)} s: nothing left in the kernel, no command left at the gate\n`);
  console.log("| scenario | killed while | launched command | kills |\n|---|---|---|---|");
  for (const [key, n] of [...table].sort()) console.log(`| ${key} | ${n} |`);
}
