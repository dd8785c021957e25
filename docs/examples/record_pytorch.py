"""Record a PyTorch training run's logits with prunescale's Recorder, prune from them, and train on the kept set.

    python docs/examples/record_pytorch.py          # about 10 s on 2 cores; needs torch

The Recorder needs numpy alone: it takes each batch's example indices and logits, and the caller advances the
epoch.  Any data set works, as long as the loader yields each example's index in the data set."""

import tempfile

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from prunescale.validation import prune_dynamics
from prunescale.validation.dynamics import Recorder


class Indexed(Dataset):
    """A data set that also yields each example's index (what the Recorder needs)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return i, self.x[i], self.y[i]


def main(folder):
    torch.manual_seed(0)
    x = torch.randn(2000, 20)
    y = (x[:, :5].sum(1) > 0).long() + (x[:, 5] > 1).long()  # 3 classes, some examples hard
    data = Indexed(x, y)
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    epochs = 10
    recorder = Recorder(folder, labels=y.numpy(), epochs=epochs, num_classes=3)
    for epoch in range(epochs):
        for indices, xb, yb in DataLoader(data, batch_size=100, shuffle=True):
            logits = model(xb)
            torch.nn.functional.cross_entropy(logits, yb).backward()
            optimiser.step()
            optimiser.zero_grad()
            recorder.record(indices.numpy(), logits.detach().numpy())  # the logits the step saw
        recorder.next_epoch()

    pruned = prune_dynamics(folder, 0.5, metric="forgetting", policy="hard")  # or: prunescale prune --dynamics
    kept = Subset(data, pruned.kept.tolist())  # straight into PyTorch
    print(f"kept {len(kept)} of {len(data)} examples; forgetting scores from {pruned.scores.min():g} to {pruned.scores.max():g}")
    return pruned


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        main(folder + "/dynamics")
