"""Block formats (OCP MX, BFP): integer significand products per block, shared exponents added once."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.errors import ConfigError
from accel.pe import bounds
from accel.pe.base import PESpec, register
from accel.pe.elementwise import grid_bits, lsb_exp, tag
from accel.pe.kulisch import acc_width, exact_matmul_int, grid_ints, round_ints_to_fp32
from accel.pe.operands import check_shapes


@functools.cache
def block_scheme(name: str):
    """An MX or BFP scheme from accel.formats, or a ConfigError listing the valid ones (cached)."""
    from accel import formats
    from accel.formats.blocks import BFPFormat, MXFormat

    valid = [n for n in formats.names() if isinstance(formats.get(n), (MXFormat, BFPFormat))]
    if name not in valid:
        raise ConfigError(f"unknown block format {name!r}; valid choices: {', '.join(valid)}")
    return formats.get(name)


def _log2_pow2(scales: np.ndarray) -> np.ndarray:
    """Exponents of power-of-two scales (0 for zero scales, whose blocks are all zero)."""
    fr, ex = np.frexp(scales)
    return np.where(scales > 0, ex - 1, 0).astype(np.int64)


@register
@dataclass(frozen=True)
class BlockMAC(PESpec):
    """MX / BFP x MX / BFP: exact integer block dot products, shared exponents added once per block.

    Rounding: operands quantized by accel.quant (MX: E8M0 scale, elements rne saturating; BFP: shared
    exponent, significands rne clipped), A along K per token, W along K per column, same block size b.
    Per block: the element products are summed exactly in a fixed-point register (``block_acc_bits``,
    cannot overflow); the two shared exponents are added (one exponent add) and the block sum is
    converted to FP32 (the first rounding); block results are accumulated in FP32 in block order.
    Overflow: FP32 accumulation overflows to +-inf, counted as ``acc_overflow:fp32``.
    """

    NAME = "block_mac"
    PRIORITY = 5
    SUMMARY = "MX/BFP operands: exact integer block dots, shared exponents added per block, FP32 accumulation"

    act_format: str = "mxfp8_e4m3"
    weight_format: str = "mxfp8_e4m3"
    dequant: str = "per_group"

    DEQUANT_VALID = ("per_group",)
    DEQUANT_WHY_NOT = "the shared block exponents change every block along K: they are added once per block"

    def problems(self) -> list[str]:
        p = self.dequant_problems()
        schemes = []
        for field in ("act_format", "weight_format"):
            try:
                schemes.append(block_scheme(getattr(self, field)))
            except ConfigError as exc:
                p.append(f"{field}: {exc}")
        if not p and schemes[0].block_size != schemes[1].block_size:
            p.append(f"act_format and weight_format must have the same block size, got "
                     f"{schemes[0].block_size!r} and {schemes[1].block_size!r}")
        return p

    out_bits = 32

    @property
    def weight_scheme(self) -> str:
        return self.weight_format

    @property
    def act_scheme(self) -> str:
        return self.act_format

    @property
    def group_size(self) -> int:
        return block_scheme(self.act_format).block_size

    @property
    def weight_bits(self) -> int:
        return block_scheme(self.weight_format).element.bits

    @property
    def act_bits(self) -> int:
        return block_scheme(self.act_format).element.bits

    @property
    def block_acc_bits(self) -> int:
        ea, ew = block_scheme(self.act_format).element, block_scheme(self.weight_format).element
        return acc_width(grid_bits(ea), grid_bits(ew), self.group_size)

    def error_terms(self, A, W) -> bounds.ErrorTerms:
        return bounds.block_terms(self, A, W)

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
        from accel.quant import quantize

        A, K = check_shapes(A, W)
        b = self.group_size
        if K % b:
            raise ConfigError(f"K = {K!r} must be a multiple of the block size {b} of {self.act_format!r}")
        qa = quantize(A, self.act_format, axis=1)
        qw = W if hasattr(W, "codes") else quantize(np.asarray(W, dtype=np.float64), self.weight_format, axis=0)
        if qw.scheme.name != self.weight_format or qw.axis != 0:
            raise ConfigError(f"weights must be quantized with {self.weight_format!r} along K (axis 0), got "
                              f"{qw.scheme.name!r} axis {qw.axis!r}")
        fa, fw = qa.scheme.element, qw.scheme.element
        IA, IW = grid_ints(qa.element_values(), lsb_exp(fa)), grid_ints(qw.element_values(), lsb_exp(fw))
        xa, xw = _log2_pow2(qa.scales), _log2_pow2(qw.scales)  # (M, J), (J, N)
        M, N, J = A.shape[0], IW.shape[1], K // b
        acc = np.zeros((M, N), dtype=np.float32)
        lsb0 = lsb_exp(fa) + lsb_exp(fw)
        # Block sums below 2^53 grid units are exact in float64, and so is their power-of-two scaling
        # (scales >= 2^-127, elements >= 2^-9: far above float64's underflow): one rounding to FP32.
        fast = grid_bits(fa) + grid_bits(fw) + math.ceil(math.log2(b)) <= 52
        FA, FW = IA.astype(np.float64), IW.astype(np.float64)
        pa, pw = np.ldexp(1.0, xa + lsb0), np.ldexp(1.0, xw)  # powers of two, exact
        with np.errstate(over="ignore", invalid="ignore"):
            for j in range(J):
                if fast:
                    D = FA[:, j * b:(j + 1) * b] @ FW[j * b:(j + 1) * b]
                    acc += (D * (pa[:, j, None] * pw[None, j, :])).astype(np.float32)  # exponents added
                else:
                    D = exact_matmul_int(IA[:, j * b:(j + 1) * b], IW[j * b:(j + 1) * b])
                    acc += round_ints_to_fp32(D, lsb0 + xa[:, j, None] + xw[None, j, :])
        act = self.activity_for(M, N, K)
        act.add("acc_overflow", "fp32", count=int(np.isinf(acc).sum()))
        return acc.astype(np.float64), act

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        fa, fw = block_scheme(self.act_format).element, block_scheme(self.weight_format).element
        J = -(-k // self.group_size)
        act = Activity()
        mul = "fp_mul" if hasattr(fa, "mbits") or hasattr(fw, "mbits") else "int_mul"
        act.add(mul, tag(fa), tag(fw), count=m * n * k)
        act.add("kulisch_add", self.block_acc_bits, count=m * n * k)
        act.add("exp_add", 8, count=m * n * J)
        act.add("convert", self.block_acc_bits, count=m * n * J)
        act.add("fp_add", "fp32", count=m * n * J)
        return act


