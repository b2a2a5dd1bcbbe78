"""Per-channel scaled element operands shared by the minifloat and L-Mul PEs."""

from __future__ import annotations

import functools
import math

import numpy as np

from accel.errors import ConfigError


@functools.cache
def element_format(name: str):
    """An element format from accel.formats usable in a per-channel group scheme, or a ConfigError (cached)."""
    from accel import formats
    from accel.errors import FormatError

    try:
        fmt = formats.get(name)
        formats.get(f"{name}_per_channel_fp32")
    except FormatError as exc:
        raise ConfigError(f"unsupported element format {name!r} for a per-channel scaled operand: {exc}") from None
    return fmt


def tag(fmt) -> str:
    """Short activity-key tag: ``e4m3`` for minifloats, the bit width for integers."""
    return f"e{fmt.ebits}m{fmt.mbits}" if hasattr(fmt, "mbits") else str(fmt.bits)


def lsb_exp(fmt) -> int:
    """Exponent of the element grid's LSB (its smallest subnormal / integer step)."""
    return int(math.log2(fmt.min_subnormal))


def grid_bits(fmt) -> int:
    """Magnitude bits of an element on its LSB grid."""
    return math.ceil(math.log2(fmt.max / fmt.min_subnormal + 1))


def significand_bits(fmt) -> int:
    return fmt.mbits + 1 if hasattr(fmt, "mbits") else fmt.bits


def scaled_operands(A: np.ndarray, W: np.ndarray, act_format: str, weight_format: str):
    """Per-token A and per-channel W quantization: (element values A (M, K), s_a (M,), W (K, N), s_w (N,))."""
    from accel.quant import quantize

    qa = quantize(A, f"{act_format}_per_channel_fp32", axis=1)
    if hasattr(W, "codes"):
        qw = W
        if qw.scheme.name != f"{weight_format}_per_channel_fp32" or qw.axis != 0:
            raise ConfigError(f"weights must be quantized with {weight_format + '_per_channel_fp32'!r} along K "
                              f"(axis 0), got {qw.scheme.name!r} axis {qw.axis!r}")
        from accel.pe.operands import per_tensor

        ew = per_tensor(qw, ("element_values",), qw.element_values)  # decoded once per weight tensor
    else:
        qw = quantize(np.asarray(W, dtype=np.float64), f"{weight_format}_per_channel_fp32", axis=0)
        ew = qw.element_values()
    return qa.element_values(), qa.scales[:, 0], ew, qw.scales[0]
