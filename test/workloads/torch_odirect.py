"""A DataLoader whose workers make small random O_DIRECT reads (io-bound).

Each __getitem__ reads `--reads-per-item` random 4 KiB blocks of FILE with
O_DIRECT: no page cache, every read a block request the worker waits for.
The trainer's step is small, so it waits on the workers. With --buffered the
same reads go through the page cache (warm it first: the healthy twin).
Prints the bytes its workers read as JSON.
"""
import argparse
import json
import mmap
import os
import random

import torch
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("file")
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--batches", type=int, default=40)
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--reads-per-item", type=int, default=8)
parser.add_argument("--buffered", action="store_true")
args = parser.parse_args()

BLOCK = 4096
blocks = os.path.getsize(args.file) // BLOCK


class RandomBlocks(Dataset):
    def __init__(self):
        self.fd = None
        self.buf = None

    def __len__(self):
        return args.batches * args.batch_size

    def __getitem__(self, i):
        if self.fd is None:
            self.fd = os.open(args.file, os.O_RDONLY | (0 if args.buffered else os.O_DIRECT))
            self.buf = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT needs
        rng = random.Random(i)
        total = 0
        for _ in range(args.reads_per_item):
            os.preadv(self.fd, [self.buf], rng.randrange(blocks) * BLOCK)
            total += self.buf[0]
        return torch.tensor([float(total)] * 8)


torch.set_num_threads(1)
model = torch.nn.Linear(8, 1)
for batch in DataLoader(RandomBlocks(), batch_size=args.batch_size, num_workers=args.workers):
    model(batch).sum().backward()
print(json.dumps({"read_bytes": args.batches * args.batch_size * args.reads_per_item * BLOCK}), flush=True)
