"""A training-like loop that allocates a 64 MiB tensor every step (fault-churn).

glibc hands allocations above its mmap threshold (always above 32 MiB)
back to the kernel when they are freed, so each step faults the whole
buffer in again, 16,384 4 KiB pages. With --reuse the buffer is allocated
once and refilled: the same arithmetic with no faults after the first step.
Prints its own getrusage (the kernel's count) as one JSON line on exit.
"""
import argparse
import json
import resource
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--reuse", action="store_true")
args = parser.parse_args()

torch.set_num_threads(1)
ELEMENTS = 16 * 2**20  # 64 MiB of float32
kept = torch.empty(ELEMENTS) if args.reuse else None
total = 0.0
start = time.monotonic()
for step in range(args.steps):
    x = kept if args.reuse else torch.empty(ELEMENTS)
    x.fill_(float(step))
    total += float(x[-1])
    del x
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "steps": args.steps,
    "seconds": time.monotonic() - start,
    "minflt": ru.ru_minflt,
    "utime_s": ru.ru_utime,
    "stime_s": ru.ru_stime,
    "checksum": total,
}), flush=True)
