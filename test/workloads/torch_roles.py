# A PyTorch trainer whose own step is heavy enough to keep its intra-op
# (OpenMP) pool busy, fed by a DataLoader with 2 worker processes, for two
# epochs (or as many as argv[1] says): what `mltrace` must label trainer /
# intra-op / dataloader k.
import sys

import torch
from torch.utils.data import DataLoader, Dataset


class Synthetic(Dataset):
    def __len__(self):
        return 32

    def __getitem__(self, index):
        x = torch.randn(64, 64)
        return (x @ x).sum()


def main():
    torch.set_num_threads(2)
    loader = DataLoader(Synthetic(), batch_size=8, num_workers=2)
    weights = torch.randn(640, 640)
    for _epoch in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        for batch in loader:
            # the step: large enough matmuls that OpenMP splits them over the pool
            y = weights
            for _ in range(4):
                y = torch.tanh(y @ weights)
            (y.sum() * batch.sum()).item()
    print("done", flush=True)


if __name__ == "__main__":
    main()
