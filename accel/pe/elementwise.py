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

    fast = rows_minifloat_fast(A, act_format)
    if fast is not None:
        ea, sa = fast
    else:
        qa = quantize(A, f"{act_format}_per_channel_fp32", axis=1)
        ea, sa = qa.element_values(), qa.scales[:, 0]
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
    return ea, sa, ew, qw.scales[0]


#: minifloat families whose saturating round to nearest even ``round_minifloat`` restates (signed,
#: subnormals, a negative zero); the others (fnuz, no subnormals, unsigned, integers) take accel.quant
_FAST_SPECIALS = ("fn", "ieee", "finite")


def fast_minifloat(fmt) -> bool:
    """True when ``round_minifloat`` restates ``fmt``'s saturating round to nearest even."""
    return (hasattr(fmt, "mbits") and getattr(fmt, "specials", None) in _FAST_SPECIALS
            and getattr(fmt, "signed", False) and getattr(fmt, "subnormals", False))


def round_minifloat(y: np.ndarray, fmt) -> np.ndarray:
    """The values ``fmt.decode(fmt.encode(y, saturate=True))`` for finite float64 ``y`` (``fast_minifloat(fmt)``).

    Per value, the binade e = max(floor(log2 |y|), emin), the step 2^(e - M), |y| / step rounded to nearest
    even (exact scaling by a power of two), times the step, saturated at max, with y's sign.
    """
    a = np.abs(y)
    e = np.maximum(np.frexp(a)[1] - 1, fmt.emin)  # frexp: a = f 2^x, f in [0.5, 1): floor(log2 a) = x - 1
    q = np.ldexp(np.rint(np.ldexp(a, fmt.mbits - e)), e - fmt.mbits)
    return np.copysign(np.minimum(q, fmt.max), y)


def rows_minifloat_fast(A: np.ndarray, fmt_name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``accel.quant.quantize(A, "<fmt>_per_channel_fp32", axis=1)``'s element values and scales, for finite 2-D A,
    without its generic encode/decode (every GEMM quantizes its activations); None where that path must decide.

    The same operations: s = fp32(amax / max) (numpy's cast: IEEE round to nearest even), y = A / s (0 where
    s = 0), then ``round_minifloat``.  ``tests/pe/test_fast_forward.py`` checks it bit for bit against
    accel.quant on every code, ties, zero rows, subnormal and saturating values.
    """
    fmt = element_format(fmt_name)
    if not fast_minifloat(fmt) or A.ndim != 2 or not A.size or not np.isfinite(A).all():
        return None
    from accel.pe.operands import rows_over_fp32_scale

    scaled = rows_over_fp32_scale(A, fmt.max)
    if scaled is None:
        return None
    y, s = scaled
    return round_minifloat(y, fmt), s
