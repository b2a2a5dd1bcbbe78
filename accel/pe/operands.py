"""Operands as a PE sees them: integer weight codes with per-group scales/zeros/mins, integer activations.

``GroupWeights`` is built either from float weights (quantized here with the spec's weight format) or
from an already-quantized tensor (an ``accel.quant.QTensor`` quantized along K, axis 0).
Float operands are quantized by ``accel.quant.quantize`` with the scheme the spec names (one meaning).
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass

import numpy as np

from accel.errors import ConfigError
from accel.formats.ggml import GGML_BLOCK

#: 4-bit group weight formats the mixed-precision PEs accept: how w is rebuilt from the code q.
WEIGHT_FORMATS = {
    "int4": "w = s * q, q in -8..7 (symmetric, fp16 scale per group)",
    "uint4": "w = s * (q - z), q in 0..15, integer zero point z in 0..15 (fp16 scale per group)",
    "q4_0": "GGML Q4_0: w = d * (q - 8), fp16 d per 32; the PE multiplies the signed code q - 8",
    "q4_1": "GGML Q4_1: w = d * q + m, fp16 d and m per 32; the PE adds m * S_a after the group",
}
GGML_GROUP = GGML_BLOCK  # Q4_0 / Q4_1 block size (accel.formats.ggml)
_ADAPTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # QTensor -> GroupWeights
_DERIVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # weight object -> {key: derived operand}


@dataclass(eq=False)
class GroupWeights:
    """Weights (K, N) split into J = K / g groups along K."""

    codes: np.ndarray  # (K, N) small ints: the integer the PE multiplies (signed for int4/q4_0)
    scales: np.ndarray  # (J, N) float64 holding fp16 or fp32 values
    zeros: np.ndarray | None  # (J, N) int64 integer zero points, w = s * (q - z)
    mins: np.ndarray | None  # (J, N) float64 holding fp16 values, w = s * q + m
    group_size: int
    bits: int
    signed: bool
    fmt: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape

    @property
    def n_groups(self) -> int:
        return self.codes.shape[0] // self.group_size

    @functools.cached_property
    def codes_c(self) -> np.ndarray:
        """``codes`` C-contiguous (the layout the compiled group kernel reads), made once per tensor."""
        return np.ascontiguousarray(self.codes)

    @functools.cached_property
    def code_abs_max(self) -> int:
        """max |code| (computed once per weight tensor: the overflow bound of every GEMM with it)."""
        if not self.codes.size:
            return 0
        return max(int(self.codes.max()), -int(self.codes.min()))  # no wrap of |-128| in int8

    @functools.cached_property
    def scales32(self) -> np.ndarray:
        """The scales as float32 (exact: they hold fp16 or fp32 values), computed once per tensor."""
        return self.scales.astype(np.float32)

    @functools.cached_property
    def mins32(self) -> np.ndarray | None:
        """The mins as float32 (exact: fp16 values) or None, computed once per tensor."""
        return None if self.mins is None else self.mins.astype(np.float32)

    def codes_as(self, dtype) -> np.ndarray:
        """``codes`` converted to ``dtype`` (exact: small integers), made once per tensor and dtype."""
        return per_tensor(self, ("codes_as", np.dtype(dtype).str), lambda: self.codes_c.astype(dtype))

    def expand(self, per_group: np.ndarray) -> np.ndarray:
        """(J, N) -> (K, N) by repeating each group's row g times."""
        return np.repeat(per_group, self.group_size, axis=0)

    def dequantize(self) -> np.ndarray:
        """The float64 weights these codes stand for (exact: fp16 scale x 4-bit code, plus fp16 min)."""
        q = self.codes.astype(np.float64)
        if self.zeros is not None:
            q = q - self.expand(self.zeros)
        w = self.expand(self.scales) * q
        if self.mins is not None:
            w = w + self.expand(self.mins)
        return w


def _check_2d(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ConfigError(f"{what} must be a 2-D array, got shape {x.shape!r}")
    if not np.issubdtype(x.dtype, np.number):
        raise ConfigError(f"{what} must be numeric, got dtype {x.dtype!r}")
    return x.astype(np.float64)


def check_shapes(A, W) -> tuple[np.ndarray, int]:
    """Validate A (M, K) and the K of W; return A as float64 and K."""
    A = _check_2d(A, "activations A")
    k_w = W.shape[0] if hasattr(W, "shape") else np.asarray(W).shape[0]
    if A.shape[1] != k_w:
        raise ConfigError(f"inner dimensions differ: A is {A.shape!r}, W has K={k_w!r}")
    return A, A.shape[1]


def weight_scheme_name(fmt: str, g: int) -> str:
    """Registry name (accel.formats) of a 4-bit group weight scheme."""
    return {"int4": f"int4_g{g}", "uint4": f"uint4_g{g}_asym"}.get(fmt, fmt)


def quantize_weights(W, fmt: str, group_size: int) -> GroupWeights:
    """Quantize float weights (K, N) along K with ``accel.quant`` (scheme ``weight_scheme_name(fmt, g)``)."""
    from accel.quant import quantize

    W = _check_2d(W, "weights W")
    if fmt not in WEIGHT_FORMATS:
        raise ConfigError(f"unknown weight format {fmt!r}; valid formats: {', '.join(WEIGHT_FORMATS)}")
    if fmt in ("q4_0", "q4_1") and group_size != GGML_GROUP:
        raise ConfigError(f"{fmt} has a fixed group size of {GGML_GROUP}, got group_size={group_size!r}")
    if W.shape[0] % group_size:
        raise ConfigError(f"group_size {group_size!r} must divide K = {W.shape[0]!r} "
                          f"(valid group sizes: divisors of K)")
    return from_qtensor(quantize(W, weight_scheme_name(fmt, group_size), axis=0))


def as_group_weights(W, fmt: str, group_size: int, bits: int = 4) -> GroupWeights:
    """Float weights are quantized with ``fmt``; a QTensor quantized along K is taken as is."""
    if isinstance(W, GroupWeights):
        gw = W
    elif hasattr(W, "codes") and hasattr(W, "scheme"):
        gw = adapted_qtensor(W)
    else:
        return quantize_weights(W, fmt, group_size)
    if gw.fmt != weight_scheme_name(fmt, group_size) and gw.group_size == group_size:
        raise ConfigError(f"weights are quantized with scheme {gw.fmt!r} but the PE spec expects "
                          f"{weight_scheme_name(fmt, group_size)!r}; set weight_format to match")
    if gw.group_size != group_size:
        raise ConfigError(f"weights are quantized with group size {gw.group_size!r} but the PE spec has "
                          f"group_size={group_size!r}; set group_size={gw.group_size}")
    if gw.bits > bits:
        raise ConfigError(f"weights have {gw.bits!r}-bit codes; this PE multiplies {bits}-bit weights")
    return gw


def adapted_qtensor(qt) -> GroupWeights:
    """``from_qtensor(qt)``, made once per QTensor object (model weights are reused across calls)."""
    try:
        return _ADAPTED[qt]
    except (KeyError, TypeError):
        gw = from_qtensor(qt)
        try:
            _ADAPTED[qt] = gw
        except TypeError:
            pass
        return gw


def per_tensor(weight, key: tuple, make):
    """``make()`` computed once per weight object (QTensor, GroupWeights) and ``key``, else every call.

    Model weights are the same objects on every call, so what a PE derives from them alone (decoded
    elements, FP16 dequantized weights, L-Mul fields) is made once; the entry goes with the weight.
    """
    try:
        slot = _DERIVED.setdefault(weight, {})
    except TypeError:  # not weak-referenceable (e.g. a plain array): nothing to cache on
        return make()
    if key not in slot:
        slot[key] = make()
    return slot[key]


def from_qtensor(qt) -> GroupWeights:
    """Adapt an ``accel.quant.QTensor`` of a (K, N) weight quantized along K (axis 0).

    Q4_0's (code, zero point 8) pairs become the signed codes q - 8 the PE multiplies.
    """
    codes = np.asarray(qt.codes)
    if codes.ndim != 2 or qt.axis != 0:
        raise ConfigError(f"weights must be a (K, N) tensor quantized along K (axis 0), got shape "
                          f"{codes.shape!r} axis {qt.axis!r}")
    scheme = qt.scheme
    element = scheme.element
    if not hasattr(element, "signed"):
        raise ConfigError(f"this PE multiplies integer weights; got scheme {scheme.name!r} with element "
                          f"{element.name!r}")
    ints = _weight_ints(qt)
    zeros = None if qt.zeros is None else np.asarray(qt.zeros).astype(np.int64)
    mins = None if qt.mins is None else np.asarray(qt.mins, dtype=np.float64)
    signed = bool(element.signed)
    if scheme.name == "q4_0":
        ints, zeros, signed = ints - 8, None, True
    small = np.int8 if signed or element.bits < 8 else np.int16  # compact: adapted tensors are cached
    codes = np.ascontiguousarray(ints, dtype=small)  # C order: the compiled group kernel reads rows of N
    return GroupWeights(codes, np.asarray(qt.scales, dtype=np.float64), zeros, mins, qt.group_size,
                        int(element.bits), signed, scheme.name)


def _weight_ints(qt) -> np.ndarray:
    """``_ints(qt)`` as int16 for codes of at most 8 bits held in uint8 (weights are large: no int64 copy).

    Two's complement sign extension (c ^ 2^(b-1)) - 2^(b-1) is what the element's ``to_int`` computes for
    codes in 0..2^b - 1; codes outside that range go to ``to_int``, which reports them.
    """
    element = qt.scheme.element
    codes = np.asarray(qt.codes)
    if (getattr(element, "frac_bits", 0) == 0 and hasattr(element, "to_int") and element.bits <= 8
            and codes.dtype == np.uint8 and int(codes.max(initial=0)) < 2**element.bits):
        c = codes.astype(np.int16)
        if element.signed:
            half = np.int16(2 ** (element.bits - 1))
            c = (c ^ half) - half
        return c
    return _ints(qt)


def _ints(qt) -> np.ndarray:
    """Integer element values of a QTensor with an integer element (int64)."""
    element = qt.scheme.element
    if getattr(element, "frac_bits", 0) == 0 and hasattr(element, "to_int"):
        return element.to_int(qt.codes)
    return np.rint(qt.element_values()).astype(np.int64)


def quantize_rows_int(A: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row (per-token) integer quantization, scheme ``int<b>_per_channel_fp32`` along axis 1:
    s = fp32(amax / (2^(b-1)-1)), q = rne(a / s).

    Returns (codes int64 (M, K), scales float64 holding fp32 values (M,)).  All-zero rows get s = 0.
    """
    A = np.asarray(A, dtype=np.float64)
    fast = _rows_int_fast(A, bits)
    if fast is not None:
        return fast
    from accel.quant import quantize

    qt = quantize(A, f"int{bits}_per_channel_fp32", axis=1)
    return _ints(qt), np.asarray(qt.scales, dtype=np.float64)[:, 0]


def rows_over_fp32_scale(A: np.ndarray, qmax: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(A / s, s) with the per-row scale s = rne_fp32(amax / qmax) as accel.quant computes it (y = 0 where
    s = 0); None when a scale overflows FP32 (the generic path decides).  Shared by the fast integer and
    minifloat activation quantizers."""
    raw = np.abs(A).max(axis=1) / qmax
    with np.errstate(over="ignore"):
        s = raw.astype(np.float32).astype(np.float64)
    if not np.isfinite(s).all():
        return None
    safe = np.where(s > 0, s, 1.0)
    return np.where(s[:, None] > 0, A / safe[:, None], 0.0), s


def _rows_int_fast(A: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``accel.quant.quantize(A, "int<b>_per_channel_fp32", axis=1)`` for finite 2-D A, without its generic
    machinery (decode GEMMs quantize one token per call); None where that path must decide (non-finite
    values, a scale overflowing FP32: it raises).  The same operations: raw = amax / (2^(b-1)-1) in float64,
    s = rne to binary32 (numpy's cast is IEEE round to nearest even, subnormals included), y = A / s (0 where
    s = 0), q = clip(rint(y), -2^(b-1), 2^(b-1)-1).  ``tests/pe/test_fast_paths.py`` checks it bit for bit
    against ``accel.quant`` on ties, zero rows, subnormal and huge scales.
    """
    if A.ndim != 2 or not A.size or not 2 <= bits <= 8 or not np.isfinite(A).all():
        return None
    scaled = rows_over_fp32_scale(A, float(2 ** (bits - 1) - 1))
    if scaled is None:
        return None
    y, s = scaled
    q = np.clip(np.rint(y), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1).astype(np.int64)
    return q, s


def quantize_cols_int(W: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column (per-output-channel) integer quantization of (K, N) weights."""
    q, s = quantize_rows_int(W.T, bits)
    return q.T.copy(), s
