// Runs inside the two-node guest (test/vm/vm.sh), from the repository root:
// mltrace doctor, the NUMA placement phases under `mltrace stat`, and the
// spine's truth workload. Prints one JSON document with everything measured;
// the assertions live on the host side (numa-vm.test.ts), so a failure there
// shows the guest's own numbers. One boot for all of it: booting is the
// expensive part under software emulation.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = process.cwd();
const cli = join(root, "dist", "cli.js");
const workloads = join(root, "build", "workloads");

/** Seconds since the guest booted (its whole life is this one command). */
function uptime() {
  return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
}

/** mltrace with `args`; on CPU `cpu` only, if given (taskset). */
function mltrace(args, cpu) {
  const start = uptime();
  const command = cpu === undefined ? [process.execPath, cli, ...args] : ["taskset", "-c", String(cpu), process.execPath, cli, ...args];
  const run = spawnSync(command[0], command.slice(1), { encoding: "utf8", timeout: 90_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, error: run.error?.message, seconds: uptime() - start };
}

function readPairs(path) {
  try {
    return Object.fromEntries(
      readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split(" "))
        .map(([key, value]) => [key, Number(value)]),
    );
  } catch (err) {
    return { error: err.message };
  }
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    return { error: err.message };
  }
}

const out = { kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(), booted_s: uptime() };

const doctor = mltrace(["doctor", "--json"]);
out.doctor = { status: doctor.status, stderr: doctor.stderr, seconds: doctor.seconds, report: doctor.stdout ? JSON.parse(doctor.stdout) : null };

// The four placement scenarios run as phases of one traced process: each
// mltrace start costs ~13 s under emulation. mltrace reports the process's
// totals; the workload reports the kernel's deltas per phase and over all.
// Sizes: tens of MB (touching memory runs at ~100 MB/s under emulation),
// enough pages that the workload's own start-up and exit allocations, which
// mltrace counts and its in-process numastat reading does not, stay far
// below 1%.
{
  const report = "/tmp/numa.json";
  const results = "/tmp/numa.txt";
  // mltrace itself (node: its heap, its start-up work going on as the
  // workload begins) on CPU 1, so its own allocations are local to node 1
  // and stay out of the two counters the target is compared on, node 0's
  // local_node and node 1's other_node; the workload pins itself to CPU 0.
  const run = mltrace([
    "stat", "--json", "-o", report, "--", join(workloads, "numa_place"),
    "--phase", "hop,bind1,bind0,spill", "--hops", "400", "--mb", "64", "--spill-mb", "32", "--results", results,
  ], 1);
  const json = readJson(report);
  out.numa = { status: run.status, stderr: run.stderr, seconds: run.seconds, numa: json.numa, sched: json.sched, duration_s: json.duration_s, diagnoses: json.diagnoses, target: json.target, kernel: readPairs(results) };
}

// A cgroup v2 CPU quota (the host mounts only v1's cpu controller): the
// guest mounts the v2 hierarchy, enables its cpu controller and runs a busy
// shell for 4 s under 0.5 CPU; cpu.stat is read after it, for the host side
// to compare with mltrace's throttling counts.
{
  const report = "/tmp/throttle.json";
  const cg = "/sys/fs/cgroup";
  const setup = spawnSync("sh", ["-c", `mount -t cgroup2 none ${cg} && echo +cpu > ${cg}/cgroup.subtree_control && mkdir ${cg}/quota && echo "50000 100000" > ${cg}/quota/cpu.max`], { encoding: "utf8" });
  const run = mltrace(["stat", "--json", "-o", report, "--", "sh", "-c", `echo $$ > ${cg}/quota/cgroup.procs && exec timeout 4 sh -c 'while :; do :; done'`], 1);
  let stat = "";
  try {
    stat = readFileSync(`${cg}/quota/cpu.stat`, "utf8");
  } catch (err) {
    stat = `error: ${err.message}`;
  }
  const json = readJson(report);
  out.throttle = { setup: { status: setup.status, stderr: setup.stderr }, status: run.status, stderr: run.stderr, seconds: run.seconds, cpu_limits: json.cpu_limits, diagnoses: json.diagnoses, cpu_stat: stat };
}

// Block I/O through the pre-6.5 path (block_getrq): a forked worker reads
// the whole 16 MiB scratch disk with O_DIRECT, then writes it with
// O_DIRECT|O_SYNC (test/ebpf/io.test.ts does the same with files on the host).
{
  const report = "/tmp/io.json";
  const run = mltrace(["stat", "--json", "-o", report, "--", join(workloads, "direct_io"), "--read", "/dev/vda", "--write", "/dev/vda", "--bytes", String(16 << 20)]);
  const json = readJson(report);
  out.io = { status: run.status, stderr: run.stderr, seconds: run.seconds, worker_pid: Number(/worker (\d+)/.exec(run.stdout)?.[1]), report: json };
}

// The spine's truth test (test/ebpf/truth.test.ts), same workload, half as
// many batches again: exiting is slow under emulation, and the exit path
// (after each process reads its getrusage) must stay a small share.
const rusage = "/tmp/rusage.txt";
const truth = mltrace([
  "stat", "--json", "--", "taskset", "-c", "0", join(workloads, "pipeline"),
  "--workers", "2", "--threads", "3", "--step-us", "6000", "--load-us", "3000", "--batches", "300", "--results", rusage,
]);
out.truth = {
  status: truth.status,
  seconds: truth.seconds,
  stderr: truth.stderr,
  report: truth.stdout ? JSON.parse(truth.stdout) : null,
  rusage: (() => {
    try {
      return readFileSync(rusage, "utf8");
    } catch {
      return "";
    }
  })(),
};

out.total_s = uptime();
process.stdout.write(`${JSON.stringify(out)}\n`);
