"""Exponent-add multiplication: FP16 activation x integer weight without a mantissa multiplier.

a * 2^i only adds i to a's exponent, so ``a * w = sum_i w_i * (a * 2^i)`` (the top bit negative for
two's-complement weights).  Each partial product keeps a's 11-bit significand and gets exponent E + i;
subnormal inputs use their fixed exponent (-14) with no hidden bit.  The exponent field is widened to 6
bits so a * 2^i never overflows (65504 * 8 is beyond FP16's range: the exponent-overflow edge); the
partials share a's significand, so their aligned sum is exact in 15 bits and the product is exact.
"""

from __future__ import annotations

import numpy as np

from accel.formats import get

_FP16 = get("fp16")
FP16_BIAS, FP16_EBITS, FP16_MBITS = _FP16.bias, _FP16.ebits, _FP16.mbits


def fp16_fields(a16: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sign, significand with hidden bit, exponent of the significand's LSB) of finite binary16 values."""
    bits = np.asarray(a16, dtype=np.float16).view(np.uint16).astype(np.int64)
    sign = bits >> (FP16_EBITS + FP16_MBITS)
    e = (bits >> FP16_MBITS) & (2**FP16_EBITS - 1)
    sig = (bits & (2**FP16_MBITS - 1)) | ((e > 0).astype(np.int64) << FP16_MBITS)
    lsb_exp = np.maximum(e, 1) - FP16_BIAS - FP16_MBITS
    return sign, sig, lsb_exp


def expadd_mul(a16, w, w_bits: int, w_signed: bool) -> np.ndarray:
    """Products a * w (float32, exact) built from exponent adds of a's fields and one aligned sum."""
    sign, sig, lsb_exp = fp16_fields(a16)
    wu = np.asarray(w, dtype=np.int64) & ((1 << w_bits) - 1)
    total = np.zeros(np.broadcast_shapes(sig.shape, wu.shape), dtype=np.float64)
    for i in range(w_bits):
        partial = np.ldexp(sig.astype(np.float64), lsb_exp + i) * ((wu >> i) & 1)  # exponent + i
        total = total - partial if (w_signed and i == w_bits - 1) else total + partial
    return np.where(sign == 1, -total, total).astype(np.float32)
