"""A DataLoader whose Dataset gathers random rows of a memory-mapped file.

Each __getitem__ copies `--rows-per-item` rows picked at random from a
numpy.memmap of FILE (4 KiB rows), advised MADV_RANDOM as LMDB maps its
files (without it the kernel reads a whole readahead window, 8 MiB on this
machine's disk, around each fault): with a cold page cache, every row is a
major fault on the file, taken by the worker. The trainer's step is small,
so it waits on the workers. Prints the batches it trained on as JSON.
"""
import argparse
import json
import mmap
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

parser = argparse.ArgumentParser()
parser.add_argument("file")
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--batches", type=int, default=40)
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--rows-per-item", type=int, default=8)
args = parser.parse_args()

ROW = 4096
rows = os.path.getsize(args.file) // ROW


class RandomRows(Dataset):
    def __init__(self):
        self.data = None

    def __len__(self):
        return args.batches * args.batch_size

    def __getitem__(self, i):
        # Opened in the worker: each worker maps the file itself, as datasets do.
        if self.data is None:
            self.data = np.memmap(args.file, dtype=np.uint8, mode="r", shape=(rows, ROW))
            self.data._mmap.madvise(mmap.MADV_RANDOM)
        rng = np.random.default_rng(i)
        picked = rng.integers(0, rows, size=args.rows_per_item)
        return torch.from_numpy(np.stack([np.array(self.data[r]) for r in picked]).astype(np.float32))


torch.set_num_threads(1)
model = torch.nn.Linear(ROW, 8)
loader = DataLoader(RandomRows(), batch_size=args.batch_size, num_workers=args.workers)
seen = 0
for batch in loader:
    loss = model(batch.mean(dim=1)).sum()
    loss.backward()
    seen += 1
print(json.dumps({"batches": seen}), flush=True)
