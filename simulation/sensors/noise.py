"""Deterministic noise as functions of time: the same seed and time give the same value, so a
series can be computed for any instant (a backfill, a replay step) without carrying state.

``white`` draws independent standard normal values per (seed, key, step) from a
counter-based hash; ``SmoothNoise`` is a stationary Gaussian process whose correlation
falls as ``exp(-|lag| / timescale)`` (an Ornstein-Uhlenbeck process), built from random
Fourier features: cosines whose angular frequencies are drawn from that covariance's
spectrum (a Cauchy distribution of scale ``1 / timescale``) with random phases.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]

# Cosines summed by SmoothNoise: enough for its values to be close to Gaussian.
FEATURES = 96
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The SplitMix64 finaliser: a well-mixed 64-bit hash of each value."""
    with np.errstate(over="ignore"):
        z = (values + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def uniform(seed: int, key: int, steps: NDArray[np.int64]) -> Floats:
    """Uniform values in (0, 1), one per step, fixed by ``seed`` and ``key``."""
    base = _splitmix64(np.array([seed & 0xFFFFFFFF, key & 0xFFFFFFFF], dtype=np.uint64))
    mixed = _splitmix64(steps.astype(np.uint64) ^ base[0])
    mixed = _splitmix64(mixed ^ base[1])
    return ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def white(seed: int, key: int, steps: NDArray[np.int64]) -> Floats:
    """Independent standard normal values, one per step (Box-Muller on two hashed uniforms)."""
    first = uniform(seed, 2 * key, steps)
    second = uniform(seed, 2 * key + 1, steps)
    return np.sqrt(-2.0 * np.log(first)) * np.cos(2.0 * np.pi * second)


class SmoothNoise:
    """A standard Gaussian process of correlation ``exp(-|lag| / timescale_s)``, of time in
    seconds: the same ``seed`` gives the same realisation."""

    def __init__(self, seed: int, timescale_s: float, features: int = FEATURES) -> None:
        rng = np.random.default_rng(seed)
        self._omega = rng.standard_cauchy(features) / timescale_s
        self._phase = rng.uniform(0.0, 2.0 * np.pi, features)
        self._weight = np.sqrt(2.0 / features)

    def __call__(self, seconds: Floats) -> Floats:
        """The process at ``seconds`` (any times, in any order)."""
        angles = np.multiply.outer(seconds, self._omega) + self._phase
        return np.asarray(self._weight * np.cos(angles).sum(axis=-1), dtype=np.float64)
