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
    activations = torch.randn(2048, 2048)
    for _epoch in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        for batch in loader:
            # the step: element-wise ops on 4M elements, which ATen splits
            # over its OpenMP pool (this build's matmul runs on one thread)
            y = activations
            for _ in range(4):
                y = torch.tanh(y) * activations
            (y.sum() * batch.sum()).item()
    print("done", flush=True)


if __name__ == "__main__":
    main()
