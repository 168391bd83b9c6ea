# A real PyTorch input pipeline: DataLoader with 2 worker processes, each
# batch computed on the fly. Waits for a line on stdin before the first epoch
# so a tracer can attach to the running process with --pid.
import sys

import torch
from torch.utils.data import DataLoader, Dataset


class Synthetic(Dataset):
    def __len__(self):
        return 256

    def __getitem__(self, index):
        x = torch.randn(96, 96)
        return (x @ x).sum()


def main():
    torch.set_num_threads(2)
    loader = DataLoader(Synthetic(), batch_size=16, num_workers=2)
    model = torch.nn.Linear(16, 1)
    print("ready", flush=True)
    sys.stdin.readline()
    for _epoch in range(2):
        for batch in loader:
            model(batch.unsqueeze(0)).sum().backward()
    print("done", flush=True)


if __name__ == "__main__":
    main()
