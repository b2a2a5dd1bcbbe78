"""Minifloat x minifloat MAC (exact products; FP32 or Kulisch accumulation) and the L-Mul PE."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.pe import bounds
from accel.pe.base import PESpec, register
from accel.pe.elementwise import element_format, grid_bits, lsb_exp, scaled_operands, significand_bits, tag
from accel.pe.fp32 import ordered_fp32_dot
from accel.pe.kulisch import acc_width, exact_dot_fp32
from accel.pe.lmul_core import REALISATIONS, l_of_m, normalise
from accel.pe.operands import check_shapes, per_tensor

ACCUMULATORS = ("fp32", "kulisch")


def _lmul_rows(x: np.ndarray, m: int, off: int) -> tuple[np.ndarray, np.ndarray]:
    """Activation operands of the L-Mul kernel: U = X (2^m + f + off) and X = sign 2^(e - m) (0 for x = 0),
    float32 (exact: small integers times powers of two), for x = sign (1 + f 2^-m) 2^e."""
    sgn, e, f = normalise(x, m)
    X = np.where(x == 0, 0.0, np.where(sgn, -1.0, 1.0) * np.ldexp(1.0, e - m))
    return (X * (2.0**m + f + off)).astype(np.float32), X.astype(np.float32)


def _lmul_cols(w: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Weight operands of the L-Mul kernel: Y = sign 2^e (0 for w = 0) and V = Y f, float32 (exact), C order
    (the kernel reads rows of N; a transposed layout would keep it from vectorising)."""
    sgn, e, f = normalise(w, m)
    Y = np.where(w == 0, 0.0, np.where(sgn, -1.0, 1.0) * np.ldexp(1.0, e))
    V = np.where(w == 0, 0.0, Y * f)
    return np.ascontiguousarray(Y, dtype=np.float32), np.ascontiguousarray(V, dtype=np.float32)


_NB, _RB = 256, 8  # tile of the compiled kernels: 8 rows x 256 columns (as accel.pe.fp32's)


@functools.cache
def _lmul_kernel(adder: bool):
    """numba kernel: L-Mul products (exact in FP32) accumulated in k order, in tiles of 8 rows x 256 columns.

    With the operands of ``_lmul_rows`` / ``_lmul_cols``, t = U Y + X V = sign (2^m + F) 2^(x_e + y_e - m),
    F = x_f + y_f + off: the ``formula`` product.  Every term is a small integer times a power of two
    inside FP32's range (``LMulPE.problems`` checks it), so each multiply and add is exact, and so is any
    fused multiply-add LLVM may form (``contract``): the only rounding is the accumulator's add, in k order.
    The ``adder`` carries c = floor(F / 2^m) (0, 1 or 2: F < 3 2^m) into the exponent and keeps F - c 2^m:
    with h = 2^m X Y = sign 2^(x_e + y_e) and d = t - h = sign F 2^(x_e + y_e - m) (both exact) the product
    is t (c = 0), 2 d (c = 1) or 4 (d - h) (c = 2), c read from |d| against |h| and 2 |h|.  The tiling
    changes only which outputs are worked on together: each output adds its products in k order, two per
    load and store of the accumulator (no reassociation: only ``contract`` is allowed).
    """
    from accel.pe.jit import numba

    nb = numba()

    @nb.njit(cache=True, nogil=True, inline="always")
    def carry(t, h, two_m):  # pragma: no cover - compiled
        h = h * two_m
        d = t - h
        ad, ah = abs(d), abs(h)
        r = d + d if ad < ah + ah else np.float32(4.0) * (d - h)  # selects, not branches: the loop vectorises
        return t if ad < ah else r

    @nb.njit(cache=True, nogil=True, fastmath={"contract"})
    def kernel(U, X, Y, V, two_m):  # pragma: no cover - compiled
        # numba's disk-cache key hashes the closure's cells: ``adder`` keeps the two kernels apart.  Two k
        # per pass: five arrays in the inner loop keep LLVM's runtime alias checks under its limit (more
        # and the loop is not vectorised)
        M, K = U.shape
        N = Y.shape[1]
        K2 = K - K % 2
        acc = np.zeros((M, N), dtype=np.float32)
        for n0 in range(0, N, _NB):
            n1 = min(n0 + _NB, N)
            for m0 in range(0, M, _RB):
                m1 = min(m0 + _RB, M)
                for k in range(0, K2, 2):
                    y0, y1, v0, v1 = Y[k, n0:n1], Y[k + 1, n0:n1], V[k, n0:n1], V[k + 1, n0:n1]
                    for i in range(m0, m1):
                        u0, u1, x0, x1 = U[i, k], U[i, k + 1], X[i, k], X[i, k + 1]
                        row = acc[i, n0:n1]
                        if adder:
                            for n in range(n1 - n0):
                                row[n] = (row[n] + carry(u0 * y0[n] + x0 * v0[n], x0 * y0[n], two_m)) \
                                    + carry(u1 * y1[n] + x1 * v1[n], x1 * y1[n], two_m)
                        else:
                            for n in range(n1 - n0):
                                row[n] = (row[n] + (u0 * y0[n] + x0 * v0[n])) + (u1 * y1[n] + x1 * v1[n])
                for k in range(K2, K):
                    y, v = Y[k, n0:n1], V[k, n0:n1]
                    for i in range(m0, m1):
                        u, x = U[i, k], X[i, k]
                        row = acc[i, n0:n1]
                        for n in range(n1 - n0):
                            t = u * y[n] + x * v[n]
                            row[n] = row[n] + (carry(t, x * y[n], two_m) if adder else t)
        return acc

    return kernel


def _dequant_out(acc: np.ndarray, sa: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """y = fp32(acc * fp32(s_a s_w)): two FP32 roundings per output."""
    c = sa.astype(np.float32)[:, None] * sw.astype(np.float32)[None, :]
    return acc * c


class _ElementPE(PESpec):
    """Shared attributes of the per-channel scaled element-format PEs."""

    group_size = None
    out_bits = 32
    DEQUANT_VALID = ("per_output",)
    DEQUANT_WHY_NOT = ("per-channel scales are constant along K, so they are applied once per output; the "
                       "element formats carry their own exponents, there is nothing to dequantize per group or MAC")

    def _formats_problems(self) -> list[str]:
        p = []
        for field in ("act_format", "weight_format"):
            try:
                element_format(getattr(self, field))
            except Exception as exc:  # ConfigError; reported with the others
                p.append(f"{field}: {exc}")
        return p

    def _range_problems(self) -> list[str]:
        fa, fw = element_format(self.act_format), element_format(self.weight_format)
        lo, hi = fa.min_subnormal * fw.min_subnormal, 4 * fa.max * fw.max
        if hi >= 2.0**128 or lo < 2.0**-126:
            return [f"products must be exact in FP32: {self.act_format!r} x {self.weight_format!r} products span "
                    f"{lo:.3g}..{hi:.3g}, beyond FP32's normal range 2^-126..2^128"]
        return []

    @property
    def weight_scheme(self) -> str:
        return f"{self.weight_format}_per_channel_fp32"

    @property
    def act_scheme(self) -> str:
        return f"{self.act_format}_per_channel_fp32"

    @property
    def weight_bits(self) -> int:
        return element_format(self.weight_format).bits

    @property
    def act_bits(self) -> int:
        return element_format(self.act_format).bits


@register
@dataclass(frozen=True)
class MinifloatMAC(_ElementPE):
    """Any element format x any element format, exact products, FP32 or Kulisch (exact) accumulation.

    Rounding: activations per token and weights per output channel are quantized by accel.quant
    (``<format>_per_channel_fp32``: fp32 scale amax / max, elements rne, saturating).  Products are exact
    (at most 12 x 12 significand bits, inside FP32's range).  ``accumulate=fp32``: the accumulator
    rounds to FP32 after every add in k order; ``kulisch``: a fixed-point register of
    ``acc_width`` bits holds the exact sum, rounded once to FP32 at the end.  Output y = fp32(acc
    fp32(s_a s_w)).  Overflow: Kulisch cannot overflow (sized for K); FP32 overflows to +-inf, counted
    as ``acc_overflow:fp32``.
    """

    NAME = "minifloat_mac"
    PRIORITY = 4
    SUMMARY = "element x element (e.g. e4m3 x e4m3, e2m1 x int4) exact products, FP32 or exact Kulisch accumulation"
    CHOICES = {"accumulate": ACCUMULATORS}

    act_format: str = "float8_e4m3fn"
    weight_format: str = "float8_e4m3fn"
    accumulate: str = "fp32"
    dequant: str = "per_output"

    def problems(self) -> list[str]:
        p = self._formats_problems() + self.dequant_problems()
        if not p:
            sa, sw = (significand_bits(element_format(f)) for f in (self.act_format, self.weight_format))
            if sa + sw > 24:
                p.append(f"products must be exact in FP32: significand bits must sum to <= 24, got "
                         f"{self.act_format!r} ({sa}) + {self.weight_format!r} ({sw})")
            else:
                p += self._range_problems()
        return p

    def kulisch_bits(self, k: int) -> int:
        fa, fw = element_format(self.act_format), element_format(self.weight_format)
        return acc_width(grid_bits(fa), grid_bits(fw), k)

    def error_terms(self, A, W) -> bounds.ErrorTerms:
        return bounds.element_terms(self, A, W)

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
        A, K = check_shapes(A, W)
        ea, sa, ew, sw = scaled_operands(A, W, self.act_format, self.weight_format)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.accumulate == "kulisch":
                fa, fw = element_format(self.act_format), element_format(self.weight_format)
                acc = exact_dot_fp32(ea, ew, lsb_exp(fa), lsb_exp(fw))
            else:
                ew32 = per_tensor(W, ("float32",), lambda: np.ascontiguousarray(ew, dtype=np.float32))
                acc = ordered_fp32_dot(ea.astype(np.float32), ew32, exact_products=True)  # problems() proved
            y = _dequant_out(acc, sa, sw)
        act = self.activity_for(A.shape[0], ew.shape[1], K)
        act.add("acc_overflow", "fp32", count=int(np.isinf(acc).sum()))
        return y.astype(np.float64), act

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        fa, fw = element_format(self.act_format), element_format(self.weight_format)
        act = Activity()
        mul = "fp_mul" if hasattr(fa, "mbits") or hasattr(fw, "mbits") else "int_mul"
        act.add(mul, tag(fa), tag(fw), count=m * n * k)
        if self.accumulate == "kulisch":
            act.add("kulisch_add", self.kulisch_bits(k), count=m * n * k)
            act.add("convert", self.kulisch_bits(k), count=m * n)
        else:
            act.add("fp_add", "fp32", count=m * n * k)
        act.add("dequant_mul", "fp32", count=2 * m * n)
        return act


@register
@dataclass(frozen=True)
class LMulPE(_ElementPE):
    """L-Mul approximate multiplication of two minifloats (``lmul_core``), FP32 accumulation.

    Rounding: operands quantized as in ``minifloat_mac`` (both formats must have the same mantissa width
    m); each product is L(x, y) by the ``formula`` or the integer ``adder`` realisation (exact in FP32);
    the accumulator rounds to FP32 after every add in k order; y = fp32(acc fp32(s_a s_w)).  Overflow:
    the product exponent is held in FP32's range (no field overflow); FP32 accumulation overflows to
    +-inf, counted as ``acc_overflow:fp32``.
    """

    NAME = "lmul"
    PRIORITY = 6
    SUMMARY = "L-Mul (addition instead of multiplication) for minifloats, formula or integer-adder, FP32 acc"
    CHOICES = {"realisation": REALISATIONS}

    act_format: str = "float8_e4m3fn"
    weight_format: str = "float8_e4m3fn"
    realisation: str = "formula"
    dequant: str = "per_output"

    def problems(self) -> list[str]:
        p = self._formats_problems() + self.dequant_problems()
        if not p:
            fa, fw = element_format(self.act_format), element_format(self.weight_format)
            if not (hasattr(fa, "mbits") and hasattr(fw, "mbits")) or fa.mbits != fw.mbits or fa.mbits < 1:
                p.append(f"L-Mul needs two minifloat formats with the same mantissa width >= 1, got "
                         f"{self.act_format!r} and {self.weight_format!r}")
            else:
                p += self._range_problems()
        return p

    @property
    def mbits(self) -> int:
        return element_format(self.act_format).mbits

    def error_terms(self, A, W) -> bounds.ErrorTerms:
        return bounds.lmul_terms(self, A, W)

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:
        A, K = check_shapes(A, W)
        ea, sa, ew, sw = scaled_operands(A, W, self.act_format, self.weight_format)
        m = self.mbits
        U, X = _lmul_rows(ea, m, 2 ** (m - l_of_m(m)))
        Y, V = per_tensor(W, ("lmul_cols", m), lambda: _lmul_cols(ew, m))
        M, N = A.shape[0], ew.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            acc = _lmul_kernel(self.realisation == "adder")(U, X, Y, V, np.float32(2.0**m))
            y = _dequant_out(acc, sa, sw)
        act = self.activity_for(M, N, K)
        act.add("acc_overflow", "fp32", count=int(np.isinf(acc).sum()))
        return y.astype(np.float64), act

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        fa = element_format(self.act_format)
        act = Activity()
        act.add("lmul_add", fa.ebits + fa.mbits + 1, count=m * n * k)
        act.add("fp_add", "fp32", count=m * n * k)
        act.add("dequant_mul", "fp32", count=2 * m * n)
        return act
