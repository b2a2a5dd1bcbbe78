"""Shift-and-add integer multiplication (the MixPE multiplier): a * w = sum_i w_i * (a << i).

For a two's-complement weight of b bits the top bit has weight -2^(b-1):
``a * w = -w_{b-1} * (a << (b-1)) + sum_{i<b-1} w_i * (a << i)``; for an unsigned weight every bit is
positive.  An INT8 x INT4 product fits 12 bits; a group of g products needs 12 + ceil(log2 g) bits.
"""

from __future__ import annotations

import math

import numpy as np


def shift_add_mul(a, w, w_bits: int, w_signed: bool) -> np.ndarray:
    """Products ``a * w`` computed only with shifts, AND gates and adds (vectorised, int64)."""
    a = np.asarray(a, dtype=np.int64)
    wu = np.asarray(w, dtype=np.int64) & ((1 << w_bits) - 1)  # the weight's bit pattern
    acc = np.zeros(np.broadcast_shapes(a.shape, wu.shape), dtype=np.int64)
    for i in range(w_bits):
        partial = np.left_shift(a, i) * ((wu >> i) & 1)  # a << i gated by bit i
        if w_signed and i == w_bits - 1:
            acc -= partial
        else:
            acc += partial
    return acc


def product_bits(a_bits: int, w_bits: int) -> int:
    """Signed width that holds every product of an a_bits signed and a w_bits (signed or unsigned) integer."""
    return a_bits + w_bits


def group_acc_bits(a_bits: int, w_bits: int, group_size: int) -> int:
    """Accumulator width that can never overflow for a group of ``group_size`` products."""
    return product_bits(a_bits, w_bits) + math.ceil(math.log2(group_size)) if group_size > 1 \
        else product_bits(a_bits, w_bits)
