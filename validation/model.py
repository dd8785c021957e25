"""A small, fast residual network for CIFAR-10 (airbench-style, in flax.linen).

Three stages; each is conv -> max-pool -> batch norm -> GELU followed by a
residual block (conv -> batch norm -> GELU, added back).  Global max pool and
a bias-free linear head scaled by 1/9 (airbench's temperature).  ``widths``
sets the channel counts, so one class covers the toy net of the tests and
the trainer's configurations.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class Stage(nn.Module):
    width: int

    @nn.compact
    def __call__(self, x, train: bool):
        norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
        x = nn.Conv(self.width, (3, 3), use_bias=False)(x)
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.gelu(norm()(x))
        residual = x
        x = nn.gelu(norm()(nn.Conv(self.width, (3, 3), use_bias=False)(x)))
        return x + residual


class ResNet(nn.Module):
    widths: Sequence[int] = (32, 128, 128)
    stem: int = 24
    num_classes: int = 10

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Conv(self.stem, (2, 2), padding="VALID", use_bias=False)(x)
        x = nn.gelu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
        for w in self.widths:
            x = Stage(w)(x, train)
        x = jnp.max(x, axis=(1, 2))
        return nn.Dense(self.num_classes, use_bias=False)(x) / 9.0
