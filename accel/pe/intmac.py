"""INT8 x INT8 multiply-accumulate with per-token / per-channel scales applied once per output."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.errors import ConfigError
from accel.pe.base import PESpec, register
from accel.pe.intdot import OVERFLOW_POLICIES, group_dot
from accel.pe.operands import check_shapes, from_qtensor, quantize_cols_int, quantize_rows_int


@register
@dataclass(frozen=True)
class Int8MAC(PESpec):
    """W8A8 integer MAC: array multiplier, ``acc_bits`` (default 32) integer accumulator, FP32 dequant.

    Rounding: activations per token and weights per output channel, s = fp32(amax / 127), q =
    clip(rne(x / s), +-127); products and sums exact; per output: c = fp32(s_a s_w), y = fp32(fp32(acc) c)
    (fp32(acc) rounds only when |acc| >= 2^24).  Overflow: the accumulator wraps (default, two's
    complement) or saturates in k order; each event counted as ``acc_overflow:<acc_bits>`` (impossible
    with 32 bits for K < 2^17).
    """

    NAME = "int8_mac"
    PRIORITY = 2
    SUMMARY = "INT8 x INT8 MAC, int32 accumulator, per-token x per-channel scales after the sum"
    CHOICES = {"overflow": OVERFLOW_POLICIES, "act_bits": tuple(range(2, 9)), "weight_bits": tuple(range(2, 9))}

    act_bits: int = 8
    weight_bits: int = 8
    acc_bits: int = 32
    overflow: str = "wrap"

    def problems(self) -> list[str]:
        if not 2 <= self.acc_bits <= 62:
            return [f"acc_bits must be in 2..62, got {self.acc_bits!r}"]
        return []

    group_size = None
    out_bits = 32
    dequant = "per_output"

    @property
    def weight_scheme(self) -> str:
        return f"int{self.weight_bits}_per_channel_fp32"

    @property
    def act_scheme(self) -> str:
        return f"int{self.act_bits}_per_channel_fp32"

    def integer_parts(self, A, W, as_int: bool = True) -> dict:
        """qa, s_a, qw, s_w and the exact accumulator (int64, or floats holding it with as_int=False)."""
        A, K = check_shapes(A, W)
        qa, sa = quantize_rows_int(A, self.act_bits)
        if hasattr(W, "codes"):
            gw = from_qtensor(W)
            if gw.fmt != self.weight_scheme:
                raise ConfigError(f"weights are quantized with scheme {gw.fmt!r} but the PE spec expects "
                                  f"{self.weight_scheme!r} (symmetric per-channel, fp32 scales); set weight_bits "
                                  f"to match or quantize with {self.weight_scheme!r}")
            qw, sw = gw.codes, gw.scales[0]
        else:
            qw, sw = quantize_cols_int(np.asarray(W, dtype=np.float64), self.weight_bits)
        P, events = group_dot(qa, qw, K, self.acc_bits, self.overflow, as_int)
        return {"qa": qa, "sa": sa, "qw": qw, "sw": sw, "acc": P[0], "overflows": events}

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
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
        act.add("convert", self.acc_bits, count=m * n)
        act.add("dequant_mul", "fp32", count=2 * m * n)
        return act
