"""Proven worst-case error bounds of each variant's output against the float64 product A @ W.

|Y - A W| <= |A - Â| |W| + |Â| |W - Ŵ| + arith(Â, Ŵ) + float64 slack, elementwise, where Â, Ŵ are the
operands as the PE holds them.  The quantization terms use per-element bounds derived from the formats
(half the element grid step at x times the scale, plus the distance beyond the saturation value); the
arithmetic term is gamma_n (n = the roundings a product passes through, from the variant's docstring)
times the sum of the magnitudes it rounds, or for L-Mul the largest relative error of L-Mul over every
mantissa pair of the format.  Each spec class binds its terms (``PESpec.error_terms``, one of the ``*_terms``
functions here); ``PESpec.error_bound(A, W)`` combines them.  Used by the accuracy table
(benchmarks/pe_accuracy.py) and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from accel.pe.fp32 import U16, U64, gamma


def element_delta(x: np.ndarray, scale, fmt) -> np.ndarray:
    """Bound on |x - scale * Q(x / scale)| for round-to-nearest onto element ``fmt`` with saturation."""
    s = np.abs(np.asarray(scale, dtype=np.float64))
    safe = np.where(s > 0, s, 1.0)
    v = np.abs(x) / safe
    if hasattr(fmt, "mbits"):
        with np.errstate(divide="ignore"):
            e = np.maximum(np.floor(np.log2(np.where(v > 0, v, 1.0))), fmt.emin)
        step = np.ldexp(1.0, (e - fmt.mbits).astype(np.int64))
        if not getattr(fmt, "subnormals", True):
            step = np.where(v < fmt.min_normal, fmt.min_normal, step)
    else:
        step = np.full_like(v, fmt.min_subnormal)
    d = s * (step / 2 + np.maximum(0.0, v - fmt.max))
    return np.where(s > 0, d, np.abs(x))


def _group_weight_delta(W: np.ndarray, gw) -> np.ndarray:
    """Per-weight bound for the 4-bit group formats (GGML ones include llama.cpp's fp32 -> fp16 scale step)."""
    from accel import formats
    from accel.formats.integer import IntFormat

    d = np.abs(gw.expand(gw.scales))
    if gw.fmt == "q4_0":  # q chosen on the fp32 grid d32, clamped; stored d16: |d32| + 8 |d32 - d16|
        return d * (1 + 9 * U16) * (1 + 2 * U16) + 9 * 2.0**-25
    if gw.fmt == "q4_1":  # d32 / 2 + 15 |d32 - d16| + |min - m16| (+ fp32 evaluation of (x - min) / d)
        m = np.abs(gw.expand(gw.mins))
        return d * (0.5 + 16 * U16) * (1 + 2 * U16) + m * U16 * (1 + 2 * U16) + 17 * 2.0**-25
    el = cast(IntFormat, formats.get(f"{'int' if gw.signed else 'uint'}{gw.bits}"))
    z = gw.expand(gw.zeros) if gw.zeros is not None else 0
    lo, hi = d * (el.min_int - z), d * (el.max_int - z)
    return d / 2 + np.maximum(0.0, np.maximum(W - hi, lo - W))


def _fp16_delta(x: np.ndarray) -> np.ndarray:
    from accel import formats

    return element_delta(x, 1.0, formats.get("fp16"))


def lmul_max_rel_error(m: int, realisation: str) -> float:
    """Largest |L(x, y) - x y| / |x y| over every pair of m-bit mantissas (exact enumeration)."""
    from accel.pe.lmul_core import lmul

    f = 1 + np.arange(2**m) / 2**m
    x, y = np.meshgrid(f, f)
    return float(np.max(np.abs(lmul(x, y, m, realisation) - x * y) / (x * y)))


@dataclass(frozen=True)
class ErrorTerms:
    """The operands as the PE holds them (``a_hat``, ``w_hat``), per-element bounds on their quantization error
    (``da``, ``dw``) and the arithmetic error bound (``arith``, (M, N)): what a variant contributes to its bound."""

    a_hat: np.ndarray
    w_hat: np.ndarray
    da: np.ndarray
    dw: np.ndarray
    arith: np.ndarray


def combine(A: np.ndarray, W: np.ndarray, t: ErrorTerms) -> dict:
    """The bound from a variant's terms: ``{"ref": A @ W, "ref_quantized": Â @ Ŵ, "bound", "quant", "arith"}``
    (float64, (M, N))."""
    K = A.shape[1]
    quant = t.da @ np.abs(W) + np.abs(t.a_hat) @ t.dw
    slack = gamma(K + 2, U64) * (np.abs(A) @ np.abs(W) + np.abs(t.a_hat) @ np.abs(t.w_hat))
    bound = (quant + t.arith * (1 + 1e-12) + slack) * (1 + 1e-12)
    return {"ref": A @ W, "ref_quantized": t.a_hat @ t.w_hat, "bound": bound, "quant": quant, "arith": t.arith}


def integer_terms(spec, A, W, group_weights: Callable[[np.ndarray], Any]) -> ErrorTerms:
    """Integer activations (per-row scale) x integer weights: per-channel (``dequant == "per_output"``) or in
    groups (``group_weights(W)``: the spec's group quantization), integer dots, FP32 dequantization."""
    from accel import formats
    from accel.pe.operands import quantize_cols_int, quantize_rows_int

    K = A.shape[1]
    qa, sa = quantize_rows_int(A, spec.act_bits)
    a_hat = sa[:, None] * qa
    da = element_delta(A, sa[:, None], formats.get(f"int{spec.act_bits}"))
    if spec.dequant == "per_output":
        qw, sw = quantize_cols_int(W, spec.weight_bits)
        w_hat = qw * sw[None, :]
        dw = element_delta(W, sw[None, :], formats.get(f"int{spec.weight_bits}"))
        return ErrorTerms(a_hat, w_hat, da, dw, gamma(3) * np.abs(a_hat @ w_hat))
    gw = group_weights(W)
    return ErrorTerms(a_hat, gw.dequantize(), da, _group_weight_delta(W, gw),
                      gamma(K // spec.group_size + 2) * (np.abs(a_hat) @ _group_mag(gw)))


def fp16_group_terms(spec, A, W) -> ErrorTerms:
    """FP16 activations x group-quantized weights: exact group sums dequantized per group (``per_group``), or
    weights dequantized to FP16 in the loop with K FP32 adds (``in_loop``)."""
    from accel.pe.fp32 import to_fp16_saturating
    from accel.pe.operands import quantize_weights

    K = A.shape[1]
    a_hat = to_fp16_saturating(A).astype(np.float64)
    da = _fp16_delta(A)
    gw = quantize_weights(W, spec.weight_format, spec.group_size)
    w_hat, dw = gw.dequantize(), _group_weight_delta(W, gw)
    if spec.dequant == "per_group":
        return ErrorTerms(a_hat, w_hat, da, dw, gamma(K // spec.group_size + 2) * (np.abs(a_hat) @ _group_mag(gw)))
    w16 = spec.dequantized_weights(W).astype(np.float64)
    dw = dw + _fp16_delta(w_hat) * (1 + 2 * U16)  # the in-loop fp16 dequantization (+ fp16 add)
    if gw.mins is not None:
        dw = dw + _fp16_delta(np.abs(gw.expand(gw.scales) * gw.codes)) * (1 + 2 * U16)
    return ErrorTerms(a_hat, w16, da, dw, gamma(K) * (np.abs(a_hat) @ np.abs(w16)))


def _element_operands(spec, A, W) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from accel.pe.elementwise import element_format, scaled_operands

    ea, sa, ew, sw = scaled_operands(A, W, spec.act_format, spec.weight_format)
    a_hat, w_hat = sa[:, None] * ea, ew * sw[None, :]
    da = element_delta(A, sa[:, None], element_format(spec.act_format))
    dw = element_delta(W, sw[None, :], element_format(spec.weight_format))
    return a_hat, w_hat, da, dw


def element_terms(spec, A, W) -> ErrorTerms:
    """Element formats with per-tensor scales, exact products, FP32 (K + 2 roundings) or exact Kulisch accumulation."""
    a_hat, w_hat, da, dw = _element_operands(spec, A, W)
    if spec.accumulate == "kulisch":
        return ErrorTerms(a_hat, w_hat, da, dw, gamma(3) * np.abs(a_hat @ w_hat))
    return ErrorTerms(a_hat, w_hat, da, dw, gamma(A.shape[1] + 2) * (np.abs(a_hat) @ np.abs(w_hat)))


def lmul_terms(spec, A, W) -> ErrorTerms:
    """As :func:`element_terms` with each product an L-Mul (relative error at most rho) and FP32 accumulation."""
    a_hat, w_hat, da, dw = _element_operands(spec, A, W)
    absprod = np.abs(a_hat) @ np.abs(w_hat)
    rho = lmul_max_rel_error(spec.mbits, spec.realisation)
    return ErrorTerms(a_hat, w_hat, da, dw, rho * absprod + gamma(A.shape[1] + 2) * (1 + rho) * absprod)


def block_terms(spec, A, W) -> ErrorTerms:
    """MX/BFP blocks along K: exact block dots, one FP32 rounding per block."""
    from accel.quant import quantize

    qa, qw = quantize(A, spec.act_format, axis=1), quantize(W, spec.weight_format, axis=0)
    a_hat, w_hat = qa.dequantize(), qw.dequantize()
    b = spec.group_size
    da = element_delta(A, np.repeat(qa.scales, b, axis=1), qa.scheme.element)
    dw = element_delta(W, np.repeat(qw.scales, b, axis=0), qw.scheme.element)
    return ErrorTerms(a_hat, w_hat, da, dw, gamma(A.shape[1] // b) * (np.abs(a_hat) @ np.abs(w_hat)))


def _group_mag(gw) -> np.ndarray:
    """|s (q - z)| or |d q| + |m| per weight: the magnitudes the group dequantization rounds."""
    q = gw.codes.astype(np.float64) - (gw.expand(gw.zeros) if gw.zeros is not None else 0)
    mag = np.abs(gw.expand(gw.scales) * q)
    if gw.mins is not None:
        mag = mag + np.abs(gw.expand(gw.mins))
    return mag
