// Preloaded into the agent by bench/soak.mjs (node --require): every 10 s it
// appends the agent's own V8 heap figures to $SOAK_METER_FILE, which no
// outside reader can see. It only reads process.memoryUsage(); the timer is
// unref'd so it never keeps the agent alive.
const { appendFileSync } = require("node:fs");

const file = process.env.SOAK_METER_FILE;
if (file) {
  const write = () => {
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), rss: m.rss, heap_used: m.heapUsed, heap_total: m.heapTotal, external: m.external, array_buffers: m.arrayBuffers })}\n`);
  };
  write();
  setInterval(write, Number(process.env.SOAK_METER_MS ?? 10000)).unref();
}
