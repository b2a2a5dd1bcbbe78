"""MixPE variants (arXiv 2411.16158): low-bit group GEMM first, one dequantization per group after it.

Weights are 4-bit codes in groups of g along K (``operands.WEIGHT_FORMATS``: int4, uint4, q4_0, q4_1):
``P[m,n,j] = sum_{k in group j} a[m,k] q[k,n]``, ``S_a[m,j] = sum_{k in group j} a[m,k]`` (only for
zero points / mins) and ``y[m,n] = sum_j s[j,n] (P - z S_a)`` or, for Q4_1, ``sum_j (d P + m S_a)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.formats import get
from accel.pe import bounds
from accel.pe.base import PESpec, register
from accel.pe.elementwise import grid_bits
from accel.pe.fp32 import to_fp16_saturating
from accel.pe.groupfused import fused_group_dequant
from accel.pe.intdot import OVERFLOW_POLICIES, exact_float_dtype, group_dot, group_dot_iter, sum_bound
from accel.pe.operands import (
    GGML_GROUP,
    WEIGHT_FORMATS,
    GroupWeights,
    as_group_weights,
    check_shapes,
    per_tensor,
    quantize_rows_int,
    quantize_weights,
    weight_scheme_name,
)
from accel.pe.shiftadd import group_acc_bits

MAX_GROUP_W4A8 = 4096  # keeps |P - z S_a| < 2^24, so its conversion to FP32 is exact
MAX_GROUP_W4A16 = 512  # keeps the exact group sums below 2^53 units of 2^-24 (float64 BLAS is exact)
MAX_GROUP_IN_LOOP = 2**20  # in_loop: the group size only sets how often the scale changes
FP16_GRID_BITS = grid_bits(get("fp16"))  # 40: |fp16| < 2^16 on a grid of 2^-24


def _n_groups(k: int, g: int) -> int:
    return -(-k // g)


def group_problems(spec, max_group: int) -> list[str]:
    p = []
    g = spec.group_size
    if not 1 <= g <= max_group:
        p.append(f"group_size must be in 1..{max_group}, got {g!r}")
    if spec.weight_format in ("q4_0", "q4_1") and g != GGML_GROUP:
        p.append(f"weight_format {spec.weight_format!r} has a fixed group_size of {GGML_GROUP}, got {g!r}")
    return p


def group_sums(x: np.ndarray, g: int) -> np.ndarray:
    """(M, K) -> (J, M): sums over each group of g along K."""
    M, K = x.shape
    return x.reshape(M, K // g, g).sum(axis=2).T


def dequant_groups(P, Sa: np.ndarray | None, gw: GroupWeights, m: int) -> np.ndarray:
    """FP32 accumulation over groups of s (P - z S_a) or d P + m S_a; every step one binary32 rounding.

    ``P`` yields the exact (M, N) group sums in group order (integers or exact fixed-point values) and
    ``Sa`` (J, M) is exact; their conversion to FP32 is the first rounding (exact for the integer PE).
    """
    n = gw.codes.shape[1]
    acc = np.zeros((m, n), dtype=np.float32)
    term = np.empty((m, n), dtype=np.float32)
    scales = gw.scales.astype(np.float32)
    mins = None if gw.mins is None else gw.mins.astype(np.float32)
    for j, t in enumerate(P):
        if gw.zeros is not None:  # exact in t's dtype: integers below 2^24 (float32) / fixed point (float64)
            t = t - gw.zeros[j].astype(t.dtype)[None, :] * Sa[j].astype(t.dtype)[:, None]
        np.multiply(scales[j][None, :], t.astype(np.float32, copy=False), out=term)  # fp32(s t)
        if mins is not None:
            term += mins[j][None, :] * Sa[j].astype(np.float32)[:, None]  # fp32(fp32(d P) + fp32(m S_a))
        acc += term
    return acc


def dequant_activity(act: Activity, gw_fmt: str, mn: int, J: int, sa_bits: int, conv_bits: int) -> None:
    """Per-group, per-output dequantization work shared by the MixPE variants."""
    act.add("convert", conv_bits, count=mn * J)
    act.add("dequant_mul", "fp32", count=mn * J)
    act.add("fp_add", "fp32", count=mn * J)
    if gw_fmt == "uint4":
        act.add("int_mul", 4, sa_bits, count=mn * J)
        act.add("int_add", conv_bits, count=mn * J)
    if gw_fmt == "q4_1":
        act.add("convert", sa_bits, count=mn * J)
        act.add("dequant_mul", "fp32", count=mn * J)
        act.add("dequant_add", "fp32", count=mn * J)


def needs_act_sums(fmt: str) -> bool:
    return fmt in ("uint4", "q4_1")


def int_group_output(qa: np.ndarray, sa: np.ndarray, gw: GroupWeights, acc_bits: int,
                     overflow: str) -> tuple[np.ndarray, int]:
    """Integer group sums in an ``acc_bits`` register, FP32 dequant per group, then the per-token scale.

    Returns (y float32 (M, N), accumulator overflow events); y = fp32(s_a fp32-sum_j term_j) as
    ``dequant_groups`` defines the terms.
    """
    g = gw.group_size
    Sa = group_sums(qa, g) if gw.zeros is not None or gw.mins is not None else None
    dt = exact_float_dtype(sum_bound(qa, gw.codes, g, gw.code_abs_max), acc_bits)
    if dt is not None:  # exact sums: groupfused (few rows: one compiled pass; many: BLAS per group + compiled)
        acc = fused_group_dequant(qa.astype(dt), gw.codes_c, g, gw.scales32, gw.zeros, gw.mins32, Sa, gw.codes_as)
        events = 0
    else:  # overflow possible: the k-ordered register, then the reference dequantization
        P, events = group_dot_iter(qa, gw.codes, g, acc_bits, overflow)
        acc = dequant_groups(P, Sa, gw, qa.shape[0])
    return sa.astype(np.float32)[:, None] * acc, events


class _GroupWeightPE(PESpec):
    """Attributes shared by the PEs whose weights are 4-bit codes in groups along K (``WEIGHT_FORMATS``)."""

    group_size: int
    weight_format: str
    weight_bits = 4
    out_bits = 32

    @property
    def weight_scheme(self) -> str:
        return weight_scheme_name(self.weight_format, self.group_size)


@register
@dataclass(frozen=True)
class MixPEW4A8(_GroupWeightPE):
    """MixPE W4A8: INT8 activations x 4-bit group weights, shift-and-add products, dequant after each group.

    Rounding: activations are quantized per token (s_a = fp32(amax/127), q = clip(rne(a/s_a), +-127)), the
    only rounding before the output path.  Products (shift-and-add) and group sums are exact integers in a
    signed ``acc_bits`` register (default 12 + ceil(log2 g): cannot overflow).  Per group and output, FP32:
    t = fp32(P - z S_a) (exact), term = fp32(s t) [Q4_1: fp32(fp32(d P) + fp32(m S_a))], acc = fp32(acc +
    term) in group order; finally y = fp32(s_a acc).
    Overflow: with a narrower ``acc_bits`` the group register saturates (default) or wraps in k order;
    each event is counted as ``acc_overflow:<acc_bits>``.
    ``dequant`` is ``per_group`` only (group scales change along K; int8_mac offers per_output).
    """

    NAME = "mixpe_w4a8"
    PRIORITY = 0
    SUMMARY = "INT8 act x INT4/UINT4/Q4_x group weights, shift-add, integer group sums, FP32 dequant per group"
    CHOICES = {"weight_format": tuple(WEIGHT_FORMATS), "overflow": OVERFLOW_POLICIES, "act_bits": (4, 5, 6, 7, 8)}

    group_size: int = 32
    weight_format: str = "int4"
    act_bits: int = 8
    acc_bits: int | None = None
    overflow: str = "saturate"

    dequant: str = "per_group"

    DEQUANT_VALID = ("per_group",)
    DEQUANT_WHY_NOT = ("group weights change scale every group_size along K, so per_output is not one scale "
                       "per output; in_loop has no FP operand to dequantize into: use int8_mac for per_output "
                       "or mixpe_w4a16:dequant=in_loop for FP16 dequant-first")

    def problems(self) -> list[str]:
        p = group_problems(self, MAX_GROUP_W4A8) + self.dequant_problems()
        if self.acc_bits is not None and not 2 <= self.acc_bits <= 62:
            p.append(f"acc_bits must be in 2..62 or none, got {self.acc_bits!r}")
        return p

    @property
    def act_scheme(self) -> str:
        return f"int{self.act_bits}_per_channel_fp32"

    @property
    def group_acc_bits(self) -> int:
        return self.acc_bits or group_acc_bits(self.act_bits, self.weight_bits, self.group_size)

    @property
    def act_sum_bits(self) -> int:
        return self.act_bits + math.ceil(math.log2(self.group_size)) if self.group_size > 1 else self.act_bits

    def integer_parts(self, A, W) -> dict:
        """The exact integer stage: qa, s_a, weights, P (J, M, N), S_a (J, M) or None, overflow events."""
        A, K = check_shapes(A, W)
        gw = as_group_weights(W, self.weight_format, self.group_size)
        qa, sa = quantize_rows_int(A, self.act_bits)
        P, events = group_dot(qa, gw.codes, self.group_size, self.group_acc_bits, self.overflow)
        Sa = group_sums(qa, self.group_size) if gw.zeros is not None or gw.mins is not None else None
        return {"qa": qa, "sa": sa, "weights": gw, "P": P, "Sa": Sa, "overflows": events}

    def error_terms(self, A, W) -> bounds.ErrorTerms:
        return bounds.integer_terms(self, A, W,
                                    lambda w: quantize_weights(w, self.weight_format, self.group_size))

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
        A, K = check_shapes(A, W)
        gw = as_group_weights(W, self.weight_format, self.group_size)
        qa, sa = quantize_rows_int(A, self.act_bits)
        y, events = int_group_output(qa, sa, gw, self.group_acc_bits, self.overflow)
        act = self.activity_for(qa.shape[0], y.shape[1], K)
        act.add("acc_overflow", self.group_acc_bits, count=events)
        return y.astype(np.float64), act

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        J = _n_groups(k, self.group_size)
        act = Activity()
        act.add("shift_add_mul", self.act_bits, self.weight_bits, count=m * n * k)
        act.add("int_add", self.group_acc_bits, count=m * n * k)
        if needs_act_sums(self.weight_format):
            act.add("int_add", self.act_sum_bits, count=m * k)
        dequant_activity(act, self.weight_format, m * n, J, self.act_sum_bits, self.group_acc_bits)
        act.add("dequant_mul", "fp32", count=m * n)  # the per-token activation scale
        return act


@register
@dataclass(frozen=True)
class MixPEW4A16(_GroupWeightPE):
    """FP16 activations x 4-bit group weights; ``dequant`` places the weight dequantization.

    Rounding: activations rne to FP16 (saturating at +-65504) in both placements; then by placement.

    ``dequant="per_group"`` (MixPE W4A16): a * q is built from exponent adds (a * 2^i) and one aligned add,
    exact (``expadd``); the group accumulator is fixed point (Kulisch) on FP16's grid (2^-24), 45 +
    ceil(log2 g) bits wide, so P and S_a are exact and cannot overflow.  Per group and output, FP32:
    t = fp32(P - z S_a) (the first rounding), term = fp32(s t) [Q4_1: fp32(fp32(d fp32(P)) + fp32(m
    fp32(S_a)))], acc = fp32(acc + term) in group order.  group_size <= 512.

    ``dequant="in_loop"`` (the conventional mpGEMM, preset ``fp16_dequant_first``): each weight is
    dequantized to FP16 in the main loop, w16 = fp16(s (q - z)) [Q4_1: fp16(fp16(d q) + m)], saturating;
    products are exact in FP32 (11 x 11 significand bits); the accumulator rounds to FP32 after every add,
    in k order.  Activity counts the dequantization once per MAC (M N K ``dequant_mul:fp16``; a
    weight-stationary array that dequantizes each weight once per load does K N per fold: ``sim.dequant``).

    ``per_output`` is rejected: group scales change along K.  Overflow: only the FP32 output accumulator
    can overflow (to +-inf), counted as ``acc_overflow:fp32`` (never with FP16 operands and K < 2^95).
    """

    NAME = "mixpe_w4a16"
    PRIORITY = 3
    SUMMARY = ("FP16 act x INT4/UINT4/Q4_x group weights; per_group: exponent add, exact group sums, FP32 dequant "
               "per group; in_loop: FP16 dequant-first")
    CHOICES = {"weight_format": tuple(WEIGHT_FORMATS)}
    DEQUANT_VALID = ("per_group", "in_loop")
    DEQUANT_WHY_NOT = "per_output needs one weight scale per output, but group scales change every group_size along K"

    group_size: int = 32
    weight_format: str = "int4"
    dequant: str = "per_group"

    def problems(self) -> list[str]:
        p = self.dequant_problems()
        return p or group_problems(self, MAX_GROUP_W4A16 if self.dequant == "per_group" else MAX_GROUP_IN_LOOP)

    act_bits = 16

    @property
    def act_scheme(self) -> str:
        return "fp16"

    @property
    def group_acc_bits(self) -> int:
        """Width of the per_group Kulisch register (FP16 grid bits + weight bits + carries + sign)."""
        return FP16_GRID_BITS + self.weight_bits + math.ceil(math.log2(max(self.group_size, 2))) + 1

    @property
    def act_sum_bits(self) -> int:
        return FP16_GRID_BITS + math.ceil(math.log2(max(self.group_size, 2))) + 1

    # ----- per_group: exponent-add products, exact group sums, dequantization after each group
    def group_parts(self, A, W) -> dict:
        """Exact group sums: P (an iterator of (M, N) per group) and S_a (J, M) as exact float64 values."""
        A, K = check_shapes(A, W)
        gw = as_group_weights(W, self.weight_format, self.group_size)
        a16 = to_fp16_saturating(A)
        a = a16.astype(np.float64)
        J, g = K // self.group_size, self.group_size
        w = gw.codes.astype(np.float64)
        # Every partial sum is a multiple of 2^-24 below 2^(20 + 9) in magnitude: exact in float64.
        P = (a[:, j * g:(j + 1) * g] @ w[j * g:(j + 1) * g] for j in range(J))
        Sa = group_sums(a, g) if gw.zeros is not None or gw.mins is not None else None
        return {"a16": a16, "weights": gw, "P": P, "Sa": Sa}

    # ----- in_loop: FP16 weights, FP16 x FP16 products, FP32 accumulation in k order
    def dequantized_weights(self, W) -> np.ndarray:
        """The FP16 weights the in_loop datapath multiplies (K, N), as float16."""
        gw = as_group_weights(W, self.weight_format, self.group_size)
        q = gw.codes.astype(np.float64)
        if gw.zeros is not None:
            q = q - gw.expand(gw.zeros)
        s16 = gw.expand(to_fp16_saturating(gw.scales).astype(np.float64))
        w16 = to_fp16_saturating(s16 * q)
        if gw.mins is not None:
            w16 = to_fp16_saturating(w16.astype(np.float64) + gw.expand(to_fp16_saturating(gw.mins)))
        return w16

    def error_terms(self, A, W) -> bounds.ErrorTerms:
        return bounds.fp16_group_terms(self, A, W)

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
        A, K = check_shapes(A, W)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.dequant == "in_loop":
                from accel.pe.fp32 import ordered_fp32_dot

                w16 = per_tensor(W, ("fp16_weights", self.weight_format, self.group_size),
                                 lambda: self.dequantized_weights(W).astype(np.float32))
                # FP16 x FP16 products are exact in FP32 (11 + 11 significand bits, 2^-48 <= |p| < 2^32)
                y = ordered_fp32_dot(to_fp16_saturating(A).astype(np.float32), w16, exact_products=True)
            else:  # the group sums are exact in float64 (group_parts): groupfused computes the same acc
                gw = as_group_weights(W, self.weight_format, self.group_size)
                a = to_fp16_saturating(A).astype(np.float64)
                Sa = group_sums(a, self.group_size) if gw.zeros is not None or gw.mins is not None else None
                y = fused_group_dequant(a, gw.codes_c, self.group_size, gw.scales32, gw.zeros, gw.mins32, Sa,
                                        gw.codes_as)
        act = self.activity_for(A.shape[0], y.shape[1], K)
        act.add("acc_overflow", "fp32", count=int(np.isinf(y).sum()))
        return y.astype(np.float64), act

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        mnk = m * n * k
        act = Activity()
        if self.dequant == "in_loop":
            act.add("dequant_mul", "fp16", count=mnk)
            if self.weight_format == "uint4":
                act.add("int_add", 5, count=mnk)
            if self.weight_format == "q4_1":
                act.add("dequant_add", "fp16", count=mnk)
            act.add("fp_mul", "fp16", "fp16", count=mnk)
            act.add("fp_add", "fp32", count=mnk)
            return act
        act.add("exp_add", 6, count=mnk * (self.weight_bits - 1))
        act.add("int_add", 11 + self.weight_bits, count=mnk * (self.weight_bits - 1))
        act.add("kulisch_add", self.group_acc_bits, count=mnk)
        if needs_act_sums(self.weight_format):
            act.add("kulisch_add", self.act_sum_bits, count=m * k)
        dequant_activity(act, self.weight_format, m * n, _n_groups(k, self.group_size), self.act_sum_bits,
                         self.group_acc_bits)
        return act


@register
@dataclass(frozen=True)
class FP16DequantFirst(MixPEW4A16):
    """MixPE's baseline, the conventional mpGEMM: ``mixpe_w4a16`` with ``dequant="in_loop"`` (a preset).

    Rounding: activations and weights w16 = fp16(s (q - z)) rne to FP16, exact products, FP32 after every
    add in k order.  Overflow: FP32 accumulator to +-inf, counted.  Details: ``mixpe_w4a16``'s in_loop (next).
    """

    NAME = "fp16_dequant_first"
    PRIORITY = 1
    SUMMARY = "weights dequantized to FP16 per MAC, FP16 x FP16 products, FP32 accumulation (MixPE's baseline)"
    DEQUANT_VALID = ("in_loop",)
    DEQUANT_WHY_NOT = "the in_loop preset of mixpe_w4a16; write mixpe_w4a16:dequant=per_group for the MixPE path"

    dequant: str = "in_loop"
