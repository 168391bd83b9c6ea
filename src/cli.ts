#!/usr/bin/env node
// mltrace's command line. Parses and validates; the commands do the work.
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import type * as Commander from "commander";
import { UserError } from "./errors.js";
import { BpfError, native } from "./native/addon.js";
import { phaseLines, startup } from "./phases.js";
import { DEFAULT_LISTEN } from "./serve/origin.js";
// Each command's modules load when it runs (below), so `stat` starts
// without the TUI's, the server's or the schema's.

// commander is CommonJS: required as such, it loads without the scan of its
// source that importing it as ESM costs (about a third of its load time).
const { Command, InvalidArgumentError } = createRequire(import.meta.url)("commander") as typeof Commander;

startup.lapUntil("node", performance.nodeTiming.bootstrapComplete);
startup.lap("cli"); // this module and what it imports (commander)

/**
 * For the commands that trace: the native addon first. As it loads it starts
 * parsing vmlinux BTF on a thread of its own, which then overlaps loading
 * the command's modules.
 */
const tracing = async <T>(load: () => Promise<T>): Promise<T> => {
  native();
  startup.lap("addon");
  return load();
};

function positiveInteger(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a positive integer.`);
    return Number(value);
  };
}

function positiveNumber(name: string, unit: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of ${unit}.`);
    return n;
  };
}

const positiveSeconds = (name: string) => positiveNumber(name, "seconds");

/** --pid, as every tracing command takes it. */
const PID_FLAG = ["-p, --pid <pid>", "trace this process, its threads and every descendant (also those forked later)", positiveInteger("PID")] as const;

/** For flags given more than once: each value is kept. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flags `serve` and `top --serve` share: who may reach the server and with what. */
function serverFlags(cmd: Commander.Command): Commander.Command {
  return cmd
    .option("--token <token>", "the token clients must present (default: 32 random bytes, printed at start)")
    .option("--token-file <file>", "read the token from FILE (keeps it out of ps and shell history)")
    .option("--allow-remote", "allow a --listen address other than loopback (the token is still required)")
    .option("--allow-origin <url>", "let pages from this origin open the feed (repeatable), e.g. a dashboard elsewhere", collect)
    .option("--allow-host <host[:port]>", "also answer requests for this Host name (repeatable), e.g. behind a proxy", collect)
    .option("--client-buffer <MiB>", "what may wait for one slow client before its frames are dropped (default 2)", positiveNumber("client buffer", "MiB"))
    .option("--tls-cert <file>", "serve https and wss with this PEM certificate (chain); with --tls-key")
    .option("--tls-key <file>", "the certificate's PEM private key (unencrypted)");
}

const program = new Command()
  .name("mltrace")
  .description("Why is my training job slow on the CPU/OS side? eBPF tracing of a trainer and its DataLoader workers.")
  .option("-v, --verbose", "show libbpf's log and the kernel verifier's log")
  .hook("preAction", (cmd) => {
    if (!cmd.opts().verbose) return;
    native().setVerbose(true);
    phaseLines.enabled = true;
  });

program
  .command("stat")
  .description("trace a process tree until it exits (or --duration, or Ctrl-C), then print where its time went")
  .option(...PID_FLAG)
  .option("-d, --duration <seconds>", "stop after this many seconds", positiveSeconds("duration"))
  .option("-i, --interval <seconds>", "also report every this many seconds", positiveSeconds("interval"))
  .option("--json", "print one JSON document (and one JSON line per interval) instead of text")
  .option("-o, --output <file>", "write the report to FILE, so a traced command keeps stdout")
  .argument("[command...]", "command to launch and trace (after --)")
  .addHelpText(
    "after",
    `
Examples:
  mltrace stat -- python train.py --epochs 1     launch and trace; exits with the command's status
  mltrace stat --pid 4242 --duration 30           attach to a running trainer for 30 s
  mltrace stat --pid 4242 --interval 1 --json     one JSON line per second, then the summary
  mltrace stat -o report.txt -- ./train.sh        keep stdout for the command`,
  )
  .action(async (argv: string[], opts) => {
    const { runStat } = await tracing(() => import("./commands/stat.js"));
    process.exitCode = await runStat(argv, opts);
  });

serverFlags(
  program
    .command("top")
    .description("live view of a process tree: where each role's time goes, its tasks, latencies and diagnoses")
    .option(...PID_FLAG)
    .option("-i, --interval <seconds>", "refresh every this many seconds (default 1)", positiveSeconds("interval"))
    .option("--serve [host:port]", `also serve the dashboard, feed and /metrics (as mltrace serve; default ${DEFAULT_LISTEN})`)
    .option("--connect <url>", "show a remote agent (mltrace serve) instead of tracing here, e.g. ws://gpu-box:7070 with --token")
    .option("--ca <file>", "with --connect wss://: trust only agent certificates this PEM CA signed (default: the system's CAs)")
    .argument("[command...]", "command to launch and trace (after --); q ends it too"),
)
  .addHelpText(
    "after",
    `
Keys: q quit, tab or 1-4 switch views, s sort, p pause, ? help.

Examples:
  mltrace top --pid 4242                   watch a running trainer and its DataLoader workers
  mltrace top --interval 2 -- python train.py
  mltrace top --serve -- python train.py   the TUI here, the dashboard at http://127.0.0.1:7070
  mltrace top --connect ws://127.0.0.1:7070 --token-file ~/.mltrace-token
  mltrace top --connect wss://gpu-box:7070 --ca ca.pem --token-file ~/.mltrace-token
Needs a terminal; elsewhere use \`mltrace stat\`.`,
  )
  .action(async (argv: string[], opts) => {
    const { loadTop } = await import("./commands/tui-loader.js");
    const runTop = await loadTop();
    process.exitCode = await runTop(argv, opts);
  });

serverFlags(
  program
    .command("serve")
    .description("trace a process tree and serve it live: a web dashboard at /, a WebSocket feed at /feed, Prometheus /metrics")
    .option(...PID_FLAG)
    .option("-i, --interval <seconds>", "a snapshot every this many seconds (default 1)", positiveSeconds("interval"))
    .option("--listen <host:port>", `address to listen on (default ${DEFAULT_LISTEN}; port 0: any free port)`)
    .argument("[command...]", "command to launch and trace (after --); serve exits with its status"),
)
  .addHelpText(
    "after",
    `
Every request needs the token (printed at start unless --token/--token-file gives it).

Examples:
  mltrace serve -- python train.py             open the printed http://127.0.0.1:7070/?token=... URL
  mltrace serve --pid 4242 --token-file tok    attach to a running trainer
  mltrace serve --listen 0.0.0.0:7070 --allow-remote --token-file tok --tls-cert cert.pem --tls-key key.pem -- ./train.sh
  curl -H "Authorization: Bearer $(cat tok)" http://127.0.0.1:7070/metrics`,
  )
  .action(async (argv: string[], opts) => {
    const { runServe } = await tracing(() => import("./commands/serve.js"));
    process.exitCode = await runServe(argv, opts);
  });

program
  .command("doctor")
  .description("check what this machine supports and what mltrace will use")
  .option("--json", "print the findings as JSON")
  .addHelpText(
    "after",
    `
Examples:
  sudo mltrace doctor          kernel, BTF, privileges, attach mode of every probe, NUMA, PMU
  sudo mltrace doctor --json   the same, for scripts; exit status 0 when tracing can run`,
  )
  .action(async (opts) => {
    const { diagnose, doctorText } = await import("./commands/doctor.js");
    const report = diagnose();
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : doctorText(report));
    process.exitCode = report.can_trace ? 0 : 1;
  });

program
  .command("demo")
  .description("trace a built-in synthetic, input-bound training job (trainer + data-loader workers) in mltrace top")
  .option("--json", "print the report as JSON")
  .addHelpText(
    "after",
    `
Examples:
  sudo mltrace demo            the demo workload live in mltrace top (a report via mltrace stat when not on a terminal)`,
  )
  .action(async (opts) => {
    const { runDemo } = await import("./commands/demo.js");
    process.exitCode = await runDemo(opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`mltrace: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof BpfError) {
    const verbose = program.opts().verbose;
    process.stderr.write(`mltrace: ${err.message}${verbose ? "" : " (run with -v for libbpf's and the verifier's log)"}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`mltrace: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
// Tracing is over: do not wait for a launched command that outlives us
// (--duration) or for stray handles.
process.exit(process.exitCode ?? 0);
