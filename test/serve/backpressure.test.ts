// Clients that stop reading cost the agent a bounded amount of memory and
// cost the traced job nothing: the real agent (`mltrace serve`) at a fast
// interval, 50 raw sockets that complete the upgrade and never read, the
// agent's RSS from /proc and the target's CPU from the kernel's schedstat.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { reader, sleep, stuckClient } from "../helpers/feed.js";
import { mltrace, pipeline, waitFor } from "../helpers/mltrace.js";

const TOKEN = "backpressure-token-0123456789";
const STUCK = 50;
const CLIENT_BUFFER_MIB = 0.25;

const rssBytes = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
/** ns on a CPU so far (schedstat's first field): the kernel's accounting of a task's progress. */
const cpuNs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
/** utime + stime of a whole process, in ns. */
const processCpuNs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 1e7; // clock ticks of 10 ms
};

interface Window {
  seconds: number;
  /** the busy loop's CPU, in cores: the median of its one-second rates (the machine is shared: medians resist bursts) */
  targetCpu: number;
  /** the agent's CPU, in cores, the same way */
  agentCpu: number;
  maxRss: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Samples for `seconds`, or until `until` says stop. */
async function measure(agent: number, busy: number, seconds: number, until: () => Promise<boolean> = async () => false): Promise<Window> {
  const start = Date.now();
  const rates = { target: [] as number[], agent: [] as number[] };
  let mark = { at: process.hrtime.bigint(), busy: cpuNs(busy), agent: processCpuNs(agent) };
  let maxRss = rssBytes(agent);
  while (Date.now() < start + seconds * 1000 && !(await until())) {
    await sleep(100);
    maxRss = Math.max(maxRss, rssBytes(agent));
    const now = { at: process.hrtime.bigint(), busy: cpuNs(busy), agent: processCpuNs(agent) };
    const wall = Number(now.at - mark.at);
    if (wall < 1e9) continue;
    rates.target.push((now.busy - mark.busy) / wall);
    rates.agent.push((now.agent - mark.agent) / wall);
    mark = now;
  }
  return { seconds: (Date.now() - start) / 1000, targetCpu: median(rates.target), agentCpu: median(rates.agent), maxRss };
}

describeEbpf("slow feed clients", () => {
  it("50 clients that never read: the agent's RSS stays within its bound, they are cut off, the target is not slowed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mltrace-backpressure-"));
    const script = join(dir, "target.sh");
    // A job with enough threads for sizeable frames, and a busy loop whose CPU time is the progress we compare.
    writeFileSync(
      script,
      `trap 'kill $busy $job 2>/dev/null; exit 0' TERM
sh -c 'while :; do :; done' & busy=$!
echo $busy > ${dir}/busy.pid
${pipeline} --workers 4 --threads 4 --batches 100000000 --slow-loader & job=$!
wait
`,
    );
    const agent = mltrace(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--interval", "0.02", "--client-buffer", String(CLIENT_BUFFER_MIB), "--", "sh", script]);
    try {
      await waitFor("the dashboard line", () => /dashboard http:\/\/127\.0\.0\.1:\d+\//.test(agent.stderr()), 20_000);
      const address = /dashboard http:\/\/(127\.0\.0\.1:\d+)\//.exec(agent.stderr())![1]!;
      const good = reader(address, { token: TOKEN });
      await good.opened;
      const busy = Number(readFileSync(join(dir, "busy.pid"), "utf8"));
      const pid = agent.child.pid!;
      const metrics = () => fetch(`http://${address}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
      const clients = async () => Number(/^mltrace_feed_clients (\d+)$/m.exec(await metrics())![1]);
      await sleep(3000); // warm-up: the job's workers started, V8 settled

      const before = await measure(pid, busy, 8);
      const framesBefore = good.snapshots().length;
      const sizes: number[] = [];
      good.ws.on("message", (d: Buffer) => sizes.push(d.length));
      const stuck = await Promise.all(Array.from({ length: STUCK }, () => stuckClient(address, TOKEN)));
      expect(await clients()).toBe(STUCK + 1);
      const framesStuckFrom = good.snapshots().length;
      // Until every stuck client has been cut off (10 s without catching up, once dropping).
      const during = await measure(pid, busy, 60, async () => (await clients()) === 1);
      const framesDuring = good.snapshots().length - framesStuckFrom;
      const after = await measure(pid, busy, 8);
      const text = await metrics();

      const frameBytes = sizes.reduce((a, b) => a + b, 0) / Math.max(sizes.length, 1);
      // What unbounded queues would have held by the cut-off (less what the kernel's socket buffers took).
      const unbounded = STUCK * framesDuring * frameBytes;
      const bound = STUCK * CLIENT_BUFFER_MIB * 2 ** 20;
      const growth = during.maxRss - before.maxRss;
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
      console.log(
        `frames ${frameBytes.toFixed(0)} B, ${framesDuring} in ${during.seconds.toFixed(1)} s stuck; ` +
          `RSS max before ${mib(before.maxRss)}, stuck ${mib(during.maxRss)}, after ${mib(after.maxRss)}; bound ${mib(bound)}, unbounded would be ${mib(unbounded)}; ` +
          `target CPU ${before.targetCpu.toFixed(3)} / ${during.targetCpu.toFixed(3)} / ${after.targetCpu.toFixed(3)} cores; ` +
          `agent CPU ${before.agentCpu.toFixed(3)} / ${during.agentCpu.toFixed(3)} / ${after.agentCpu.toFixed(3)} cores; ` +
          `dropped ${/^mltrace_feed_frames_dropped_total (\d+)$/m.exec(text)![1]}`,
      );
      expect(await clients()).toBe(1);
      expect(Number(/^mltrace_feed_frames_dropped_total (\d+)$/m.exec(text)![1])).toBeGreaterThan(0);
      // V8's heap grows by tens of MiB on its own over such a run (and keeps it after the
      // stuck clients are gone), hence the slack; the measurement means something only
      // if unbounded queues would have shown far beyond it.
      const slack = 40 * 2 ** 20;
      expect(unbounded).toBeGreaterThan(4 * (bound + slack));
      expect(growth).toBeLessThan(bound + slack);
      // The traced job ran as fast with the stuck clients as around them. The
      // machine is shared (other suites run beside this one), so its share
      // drifts by a third between windows; what could slow it is the agent's
      // own CPU, and that must not grow with stuck clients.
      expect(during.agentCpu).toBeLessThan(1.25 * Math.max(before.agentCpu, after.agentCpu) + 0.02);
      expect(during.targetCpu).toBeGreaterThan(0.7 * Math.min(before.targetCpu, after.targetCpu));
      // and the reading client missed nothing
      const seqs = good.snapshots();
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
      expect(framesBefore).toBeGreaterThan(0);
      for (const s of stuck) s.destroy();
      good.ws.close();
    } finally {
      agent.child.kill("SIGTERM");
      await agent.exited;
    }
  });
});
