"""Block formats (OCP MX, BFP): integer significand products per block, shared exponents added once."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.errors import ConfigError
from accel.pe import bounds
from accel.pe.base import PESpec, register
from accel.pe.elementwise import grid_bits, lsb_exp, tag
from accel.pe.kulisch import acc_width, exact_matmul_int, grid_ints, round_ints_to_fp32
from accel.pe.operands import check_shapes, per_tensor


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
        qw = W if hasattr(W, "codes") else quantize(np.asarray(W, dtype=np.float64), self.weight_format, axis=0)
        if qw.scheme.name != self.weight_format or qw.axis != 0:
            raise ConfigError(f"weights must be quantized with {self.weight_format!r} along K (axis 0), got "
                              f"{qw.scheme.name!r} axis {qw.axis!r}")
        scheme = block_scheme(self.act_format)
        fa, fw = scheme.element, qw.scheme.element
        fast = act_blocks_fast(A, scheme)
        if fast is not None:
            IA, xa = fast
        else:
            qa = quantize(A, self.act_format, axis=1)
            IA, xa = grid_ints(qa.element_values(), lsb_exp(fa)), _log2_pow2(qa.scales)  # (M, K), (M, J)
        FW, xw, wmax = per_tensor(qw, ("block_operand",), lambda: _weight_operand(qw, lsb_exp(fw)))
        M, N = A.shape[0], FW.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            acc = block_dot_fp32(IA, FW, xa + lsb_exp(fa) + lsb_exp(fw), xw, b, wmax,
                                 lambda: per_tensor(qw, ("block_operand_f32",), lambda: FW.astype(np.float32)))
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


def act_blocks_fast(A: np.ndarray, scheme) -> tuple[np.ndarray, np.ndarray] | None:
    """``accel.quant.quantize(A, scheme, axis=1)`` as block_mac uses it, for finite 2-D A without the generic
    encode/decode (every GEMM quantizes its activations): (element integers on the element's LSB grid as
    float64 (M, K), scale exponents (M, J)); None where that path must decide (non-finite values, MX elements
    ``round_minifloat`` does not restate).

    The same operations: per block of b along K, MX: X = 2^E with E = ``shared_exponents(x, emax)``, y = x / X,
    elements ``round_minifloat(y)``; BFP: E = ``shared_exponents(x)``, step = 2^(E - (n - 2)),
    q = clip(rne(x / step), +-(2^(n-1) - 1)).  ``tests/pe/test_fast_forward.py`` checks it bit for bit.
    """
    from accel.formats.blocks import BFPFormat, MXFormat, shared_exponents
    from accel.pe.elementwise import fast_minifloat, round_minifloat

    M, K = A.shape
    b = scheme.block_size
    if not A.size or K % b or not np.isfinite(A).all():
        return None
    x = A.reshape(M * (K // b), b)
    el = scheme.element
    if isinstance(scheme, MXFormat) and fast_minifloat(el):
        e = shared_exponents(x, el.emax)
        y = x / np.ldexp(1.0, e.astype(np.int32))[:, None]
        ints = np.ldexp(round_minifloat(y, el), -lsb_exp(el)) + 0.0  # + 0.0: no negative zeros, as grid_ints
    elif isinstance(scheme, BFPFormat):
        steps = scheme.steps(shared_exponents(x))
        e = _log2_pow2(steps)
        qmax = 2 ** (el.bits - 1) - 1
        ints = np.clip(np.rint(x / steps[:, None]), -qmax, qmax) + 0.0
    else:
        return None
    return ints.reshape(M, K), e.reshape(M, K // b)


def _weight_operand(qw, lsb: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Weight element integers on their grid (as float64, exact), scale exponents, max |integer|; C order (the
    compiled pass reads rows of N: a transposed layout would keep it from vectorising)."""
    FW = np.ascontiguousarray(grid_ints(qw.element_values(), lsb), dtype=np.float64)
    return FW, np.ascontiguousarray(_log2_pow2(qw.scales)), int(np.abs(FW).max(initial=0))


def block_dot_fp32(IA: np.ndarray, FW: np.ndarray, ea: np.ndarray, ew: np.ndarray, b: int,
                   wmax: int | None = None, fw32=None) -> np.ndarray:
    """acc = sum_j fl32(D_j 2^(ea[:, j] + ew[j, :])) in block order, D_j the exact integer block dot products.

    IA (M, K) and FW (K, N) hold integers (IA int64 or float64, FW float64); ea (M, J) / ew (J, N) the
    exponents.  With B = b max|IA| max|FW| (``wmax`` = max|FW| if known): every partial sum of a block dot
    is an integer of magnitude at most B, so float BLAS computes D_j exactly in any order when B < 2^24
    (float32; ``fw32()`` may give FW as float32, e.g. cached) or B < 2^53 (float64); the power-of-two
    scaling is exact in float64 (exponents far above its underflow for the MX/BFP scales, >= 2^-127 times
    element LSBs >= 2^-9), so one cast rounds it once to FP32.  Otherwise integer limbs
    (``exact_matmul_int``) and ``round_ints_to_fp32``.
    """
    if wmax is None:
        wmax = int(np.abs(FW).max(initial=0))
    bound = b * int(np.abs(IA).max(initial=0)) * wmax
    if bound < 2**53:
        dt = np.float32 if bound < 2**24 else np.float64
        fw = FW.astype(dt, copy=False) if dt is np.float64 or fw32 is None else fw32()
        pw = np.ascontiguousarray(np.ldexp(1.0, ew))
        return _block_sums_fp32(IA.astype(dt, copy=False), fw, np.ldexp(1.0, ea), pw, b)
    IA, IW = IA.astype(np.int64), FW.astype(np.int64)
    acc = np.zeros((IA.shape[0], FW.shape[1]), dtype=np.float32)
    for j in range(IA.shape[1] // b):
        D = exact_matmul_int(IA[:, j * b:(j + 1) * b], IW[j * b:(j + 1) * b])
        acc += round_ints_to_fp32(D, ea[:, j, None] + ew[None, j, :])
    return acc


_ROWS = 128  # rows of an output tile
_TILE = 2**17  # outputs per tile: its block sums (1 MiB of float64) and FP32 accumulators stay in L2


def _block_sums_fp32(FA: np.ndarray, FW: np.ndarray, pa: np.ndarray, pw: np.ndarray, b: int) -> np.ndarray:
    """acc = sum_j fl32(D_j pa[:, j] pw[j, :]) in block order, D_j = FA[:, block j] @ FW[block j] (exact).

    D_j comes from float BLAS (exact: the caller checked the bound); a compiled pass scales it by the two
    powers of two (exact in float64, so (D pa) pw = D (pa pw)), rounds it to FP32 and adds it to acc.
    The outputs are worked on in tiles (all blocks of one tile, then the next), so that the block sums
    and the accumulators stay in cache; each output still adds its blocks in order.
    """
    M, K = FA.shape
    N = FW.shape[1]
    acc = np.empty((M, N), dtype=np.float32)
    paT = np.ascontiguousarray(pa.T)  # (J, M): one block's row factors contiguous
    add = _block_add_kernel()
    rows = min(M, _ROWS)
    cols = min(N, max(256, _TILE // rows))
    for r0 in range(0, M, rows):
        r1 = min(M, r0 + rows)
        for c0 in range(0, N, cols):
            c1 = min(N, c0 + cols)
            D = np.empty((r1 - r0, c1 - c0), dtype=FA.dtype)
            part = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
            for j in range(K // b):
                np.matmul(FA[r0:r1, j * b:(j + 1) * b], FW[j * b:(j + 1) * b, c0:c1], out=D)
                add(D, paT[j, r0:r1], pw[j, c0:c1], part)
            acc[r0:r1, c0:c1] = part
    return acc


@functools.cache
def _block_add_kernel():
    """numba kernel: acc += fl32(D pa pw) elementwise (one block's contribution)."""
    from accel.pe.jit import numba

    @numba().njit(cache=True, nogil=True)
    def add(D, pa, pw, acc):  # pragma: no cover - compiled
        M, N = D.shape
        for m in range(M):
            s = pa[m]
            d = D[m]
            row = acc[m]
            for n in range(N):
                row[n] = row[n] + np.float32(d[n] * s * pw[n])

    return add
