"""A small, fast residual network for CIFAR-10 (airbench-style, in flax.linen).

Three stages; each is conv -> max-pool -> batch norm -> GELU followed by a
residual block (conv -> batch norm -> GELU, added back).  Global max pool and
a bias-free linear head divided by a temperature (airbench's 9).  Every
constant is a field, set from :class:`validation.trainer.TrainConfig`, so one
class covers the toy net of the tests and the trainer's configurations.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class Stage(nn.Module):
    width: int
    bn_momentum: float
    bn_epsilon: float

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, epsilon=self.bn_epsilon)
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
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5
    logit_temperature: float = 9.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        x = nn.Conv(self.stem, (2, 2), padding="VALID", use_bias=False)(x)
        bn = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, epsilon=self.bn_epsilon)
        x = nn.gelu(bn(x))
        for w in self.widths:
            x = Stage(w, self.bn_momentum, self.bn_epsilon)(x, train)
        x = jnp.max(x, axis=(1, 2))
        return nn.Dense(self.num_classes, use_bias=False)(x) / self.logit_temperature
