# A long PyTorch run whose DataLoader workers are respawned every epoch (the
# default, persistent_workers=False): epochs of a few small batches until
# argv[1] seconds have passed, argv[2] workers each (default 4). What a soak
# of `mltrace serve` traces (bench/soak.mjs): thousands of processes an hour.
# Prints the epochs and workers it ran, as JSON, at the end.
import json
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset


class Synthetic(Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, index):
        x = torch.randn(32, 32)
        return (x @ x).sum()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    torch.set_num_threads(2)
    loader = DataLoader(Synthetic(), batch_size=4, num_workers=workers)
    activations = torch.randn(256, 256)
    deadline = time.monotonic() + seconds
    epochs = 0
    while time.monotonic() < deadline:
        for batch in loader:
            y = torch.tanh(activations) * batch.sum()
            y.sum().item()
        epochs += 1
    print(json.dumps({"epochs": epochs, "workers_started": epochs * workers}), flush=True)


if __name__ == "__main__":
    main()
