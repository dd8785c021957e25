"""A small fake data set in CIFAR-10's format (the real-file-free pipeline tests use it)."""

import numpy as np


def fake_cifar10(n_train=400, n_test=200, seed=0):
    """CIFAR-10's format (uint8 images 32x32x3, 10 classes) with learnable classes: each class is a colour
    and a stripe orientation, plus noise, and a tenth of the training labels are flipped (hard examples)."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = np.arange(n) % 10
        rng.shuffle(y)
        colour = np.stack([(y * 37) % 255, (y * 91) % 255, (y * 53) % 255], -1)[:, None, None, :]
        rows = np.arange(32)[None, :, None, None]
        stripes = 60 * (((rows // (1 + y[:, None, None, None] % 4)) % 2) - 0.5)
        x = colour + stripes + rng.normal(0, 40, (n, 32, 32, 3))
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.uint8)

    x_train, y_train = split(n_train)
    flip = rng.random(n_train) < 0.1
    y_train[flip] = rng.integers(0, 10, flip.sum())
    x_test, y_test = split(n_test)
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
