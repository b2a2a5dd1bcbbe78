"""INT8 x INT8 multiply-accumulate: scales applied once per output (per-channel weights) or per group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.errors import ConfigError
from accel.pe import bounds
from accel.pe.base import PESpec, register
from accel.pe.intdot import OVERFLOW_POLICIES, group_dot
from accel.pe.mixpe import MAX_GROUP_W4A8, dequant_activity, int_group_output
from accel.pe.operands import adapted_qtensor, check_shapes, from_qtensor, quantize_cols_int, quantize_rows_int


@register
@dataclass(frozen=True)
class Int8MAC(PESpec):
    """W8A8 integer MAC: array multiplier, ``acc_bits`` (default 32) integer accumulator, FP32 dequant.

    Rounding: activations per token, s_a = fp32(amax / 127), q = clip(rne(a / s_a), +-127); products and
    sums exact.  ``dequant="per_output"`` (default, ``group_size=none``): weights per output channel
    (``int8_per_channel_fp32``, same rule); per output: c = fp32(s_a s_w), y = fp32(fp32(acc) c)
    (fp32(acc) rounds only when |acc| >= 2^24).  ``dequant="per_group"`` (``group_size=g``): weights
    ``int8_g<g>`` (fp16 scale per group of g along K); the register restarts every group and, per group
    and output, term = fp32(s_j fp32(P_j)), acc = fp32(acc + term) in group order, y = fp32(s_a acc)
    (the same output path as mixpe_w4a8).  ``in_loop`` is rejected: the products are integer.
    Overflow: the accumulator (whole K, or one group) wraps (default, two's complement) or saturates in
    k order; each event counted as ``acc_overflow:<acc_bits>`` (impossible with 32 bits for K < 2^17).
    """

    NAME = "int8_mac"
    PRIORITY = 2
    SUMMARY = ("INT8 x INT8 MAC, int32 accumulator, per-token x per-channel scales after the sum (per_output) "
               "or FP32 dequant per group of int8_g<g> weights (per_group)")
    CHOICES = {"overflow": OVERFLOW_POLICIES, "act_bits": tuple(range(2, 9)), "weight_bits": tuple(range(2, 9))}

    act_bits: int = 8
    weight_bits: int = 8
    acc_bits: int = 32
    overflow: str = "wrap"
    group_size: int | None = None
    dequant: str = "per_output"

    DEQUANT_VALID = ("per_output", "per_group")
    DEQUANT_WHY_NOT = "in_loop has no FP operand to dequantize into: the products are integer"

    def problems(self) -> list[str]:
        p = self.dequant_problems()
        if not 2 <= self.acc_bits <= 62:
            p.append(f"acc_bits must be in 2..62, got {self.acc_bits!r}")
        g = self.group_size
        if self.dequant == "per_output" and g is not None:
            p.append(f"group_size must be none with dequant='per_output' (per-channel weight scales), got {g!r}; "
                     f"set dequant=per_group for group-scaled weights")
        if self.dequant == "per_group" and (g is None or not 1 <= g <= MAX_GROUP_W4A8):
            p.append(f"group_size must be in 1..{MAX_GROUP_W4A8} with dequant='per_group', got {g!r}")
        return p

    out_bits = 32

    @property
    def weight_scheme(self) -> str:
        if self.dequant == "per_group":
            return f"int{self.weight_bits}_g{self.group_size}"
        return f"int{self.weight_bits}_per_channel_fp32"

    @property
    def act_scheme(self) -> str:
        return f"int{self.act_bits}_per_channel_fp32"

    def _qtensor_weights(self, W):
        gw = adapted_qtensor(W)
        if gw.fmt != self.weight_scheme:
            what = "fp16 scales per group" if self.dequant == "per_group" else "symmetric per-channel, fp32 scales"
            raise ConfigError(f"weights are quantized with scheme {gw.fmt!r} but the PE spec expects "
                              f"{self.weight_scheme!r} ({what}); set weight_bits / group_size / dequant to match "
                              f"or quantize with {self.weight_scheme!r}")
        return gw

    def group_weights(self, W):
        """per_group: the ``int<b>_g<g>`` weights (``operands.GroupWeights``) from floats or a QTensor."""
        if hasattr(W, "codes"):
            return self._qtensor_weights(W)
        from accel.quant import quantize

        W = np.asarray(W, dtype=np.float64)
        if W.shape[0] % self.group_size:
            raise ConfigError(f"group_size {self.group_size!r} must divide K = {W.shape[0]!r} "
                              f"(valid group sizes: divisors of K)")
        return from_qtensor(quantize(W, self.weight_scheme, axis=0))

    def integer_parts(self, A, W, as_int: bool = True) -> dict:
        """qa, s_a, qw, s_w and the exact accumulator (int64, or floats holding it with as_int=False).

        per_output only (per_group's sums are mixpe_w4a8's: ``group_weights`` and ``intdot.group_dot``).
        """
        if self.dequant != "per_output":
            raise ConfigError(f"integer_parts is defined for dequant='per_output', got {self.dequant!r}")
        A, K = check_shapes(A, W)
        qa, sa = quantize_rows_int(A, self.act_bits)
        wmax = codes_as = None
        if hasattr(W, "codes"):
            gw = self._qtensor_weights(W)
            qw, sw, wmax, codes_as = gw.codes, gw.scales[0], gw.code_abs_max, gw.codes_as
        else:
            qw, sw = quantize_cols_int(np.asarray(W, dtype=np.float64), self.weight_bits)
        P, events = group_dot(qa, qw, K, self.acc_bits, self.overflow, as_int, wmax, codes_as)
        return {"qa": qa, "sa": sa, "qw": qw, "sw": sw, "acc": P[0], "overflows": events}

    def error_terms(self, A, W) -> bounds.ErrorTerms:
        return bounds.integer_terms(self, A, W, self.group_weights)

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
        if self.dequant == "per_group":
            A, K = check_shapes(A, W)
            qa, sa = quantize_rows_int(A, self.act_bits)
            y, events = int_group_output(qa, sa, self.group_weights(W), self.acc_bits, self.overflow)
            act = self.activity_for(A.shape[0], y.shape[1], K)
            act.add("acc_overflow", self.acc_bits, count=events)
            return y.astype(np.float64), act
        parts = self.integer_parts(A, W, as_int=False)
        c = parts["sa"].astype(np.float32)[:, None] * parts["sw"].astype(np.float32)[None, :]
        y = parts["acc"].astype(np.float64).astype(np.float32) * c  # |acc| < 2^53: one rounding
        M, K = parts["qa"].shape
        act = self.activity_for(M, y.shape[1], K)
        act.add("acc_overflow", self.acc_bits, count=parts["overflows"])
        return y.astype(np.float64), act

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        act = Activity()
        act.add("int_mul", self.act_bits, self.weight_bits, count=m * n * k)
        act.add("int_add", self.acc_bits, count=m * n * k)
        if self.dequant == "per_group":  # one FP32 dequant per output and group, then the per-token scale
            dequant_activity(act, "int8", m * n, -(-k // self.group_size), 0, self.acc_bits)
            act.add("dequant_mul", "fp32", count=m * n)
            return act
        act.add("convert", self.acc_bits, count=m * n)
        act.add("dequant_mul", "fp32", count=2 * m * n)
        return act
