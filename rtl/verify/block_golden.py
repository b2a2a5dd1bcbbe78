"""``block_mac`` and ``lmul``: their RTL configs read from the specs, and golden results.

Every width, offset and policy is read from the spec and accel.formats (nothing retyped).  Golden results
compose accel's own cores exactly as the specs' ``gemm`` does: ``block_mac``: ``kulisch.grid_ints`` ->
``exact_matmul_int`` per block -> ``round_ints_to_fp32`` with the shared exponents -> float32 sum in block
order; ``lmul``: ``lmul_core.lmul`` products (exact in FP32) -> float32 sum in k order.  Tests check these
compositions equal ``spec.gemm`` bit for bit, so checks on arbitrary codes and exponents (which no float
input to ``gemm`` can produce) still compare with the golden semantics.
"""

from __future__ import annotations

import numpy as np

from accel.errors import ConfigError


# ----- block_mac
def block_schemes(spec):
    from accel.pe.block import block_scheme

    return block_scheme(spec.act_format), block_scheme(spec.weight_format)


def _is_mx(scheme) -> bool:
    from accel.formats.blocks import MXFormat

    return isinstance(scheme, MXFormat)


def _element_fields(fmt, role: str) -> dict:
    from accel.pe.elementwise import lsb_exp

    if hasattr(fmt, "mbits"):
        if not (fmt.signed and fmt.subnormals) or lsb_exp(fmt) != 1 - fmt.bias - fmt.mbits:
            raise ConfigError(f"the block_mac RTL needs signed minifloat elements with subnormals, got {fmt.name!r}")
        return {f"{role}_bits": fmt.bits, f"{role}_signed": True, f"{role}_float": (fmt.ebits, fmt.mbits)}
    return {f"{role}_bits": fmt.bits, f"{role}_signed": fmt.signed}


def scale_log2(scheme, exponent_bytes) -> np.ndarray:
    """log2 of the block scale each stored 8-bit shared exponent stands for (decoded by accel.formats)."""
    b = np.asarray(exponent_bytes, dtype=np.int64)
    if _is_mx(scheme):
        scales = scheme.scale.decode(b.astype(scheme.scale.code_dtype))
    else:
        scales = scheme.steps_from_bytes(b)
    return (np.frexp(scales)[1] - 1).astype(np.int64)


def scale_bytes(scheme, scales) -> np.ndarray:
    """The stored 8-bit shared exponents of block scales (MX: E8M0 codes; BFP: E + 127)."""
    if _is_mx(scheme):
        return scheme.scale.encode(np.asarray(scales)).astype(np.int64)
    return scheme.exponent_bytes(np.asarray(scales))


def block_config(spec):
    """The :class:`rtl.pe.block_mac.BlockConfig` of a block_mac spec: element fields, ``block_acc_bits``, exponent
    offset."""
    from accel.pe.elementwise import lsb_exp
    from rtl.pe.block_mac import BlockConfig
    from rtl.pe.mac import MacConfig

    sa, sw = block_schemes(spec)
    elements = MacConfig(**_element_fields(sa.element, "act"), **_element_fields(sw.element, "weight"),
                         acc_bits=spec.block_acc_bits)
    offset = lsb_exp(sa.element) + lsb_exp(sw.element) + int(scale_log2(sa, [0])[0]) + int(scale_log2(sw, [0])[0])
    return BlockConfig(elements, spec.group_size, offset)


def _usable_codes(fmt) -> np.ndarray:
    """Element codes the golden quantizer can produce: no NaN/Inf, |value| <= max (so not int8's -128)."""
    codes = fmt.codes()
    v = fmt.decode(codes)
    keep = np.isfinite(v) & (np.abs(v) <= fmt.max)
    return codes[keep].astype(np.int64)


def block_operand_codes(spec) -> tuple[np.ndarray, np.ndarray]:
    sa, sw = block_schemes(spec)
    return _usable_codes(sa.element), _usable_codes(sw.element)


def _block_sums(IA: np.ndarray, IW: np.ndarray) -> np.ndarray:
    """Exact row-wise dot products of (B, L) integer grids by ``exact_matmul_int`` (diagonals of chunks)."""
    from accel.pe.kulisch import exact_matmul_int

    B = IA.shape[0]
    parts = []
    for s in range(0, B, 256):
        d = exact_matmul_int(IA[s:s + 256], IW[s:s + 256].T)
        parts.append(np.array([d[i, i] for i in range(d.shape[0])], dtype=d.dtype))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def golden_block_dots(spec, qa, qw, ea, ew) -> np.ndarray:
    """FP32 results of G dot products of J blocks: codes ``qa``, ``qw`` (G, J, L), exponent bytes (G, J)."""
    from accel.pe.elementwise import lsb_exp
    from accel.pe.kulisch import grid_ints, round_ints_to_fp32

    sa, sw = block_schemes(spec)
    fa, fw = sa.element, sw.element
    qa, qw = np.asarray(qa, dtype=np.int64), np.asarray(qw, dtype=np.int64)
    G, J, L = qa.shape
    IA = grid_ints(fa.decode(qa.astype(fa.code_dtype)), lsb_exp(fa)).reshape(G * J, L)
    IW = grid_ints(fw.decode(qw.astype(fw.code_dtype)), lsb_exp(fw)).reshape(G * J, L)
    D = _block_sums(IA, IW).reshape(G, J)
    lsb = lsb_exp(fa) + lsb_exp(fw) + scale_log2(sa, ea) + scale_log2(sw, ew)
    with np.errstate(over="ignore", invalid="ignore"):
        blocks = round_ints_to_fp32(D, lsb)
        acc = np.zeros(G, dtype=np.float32)
        for j in range(J):
            acc += blocks[:, j]
    return acc


def block_gemm_operands(spec, A, W):
    """What ``spec.gemm(A, W)`` feeds its datapath: element codes (M, K), (K, N), exponent bytes (M, J), (J, N)."""
    from accel.quant import quantize

    sa, sw = block_schemes(spec)
    qa = quantize(np.asarray(A, dtype=np.float64), spec.act_format, axis=1)
    qw = W if hasattr(W, "codes") else quantize(np.asarray(W, dtype=np.float64), spec.weight_format, axis=0)
    return (qa.codes.astype(np.int64), qw.codes.astype(np.int64), scale_bytes(sa, qa.scales),
            scale_bytes(sw, qw.scales))


# ----- lmul
def lmul_formats(spec):
    from accel.pe.elementwise import element_format

    return element_format(spec.act_format), element_format(spec.weight_format)


def lmul_config(spec):
    """The :class:`rtl.pe.lmul.LmulConfig` of an lmul spec (fields, biases, l(m), realisation from the spec)."""
    from accel.pe.elementwise import lsb_exp
    from accel.pe.lmul_core import l_of_m
    from rtl.pe.lmul import LmulConfig

    fa, fw = lmul_formats(spec)
    for f in (fa, fw):
        if not (f.signed and f.subnormals) or lsb_exp(f) != 1 - f.bias - f.mbits:
            raise ConfigError(f"the lmul RTL needs signed minifloats with subnormals, got {f.name!r}")
    return LmulConfig(fa.ebits, fa.bias, fw.ebits, fw.bias, spec.mbits, l_of_m(spec.mbits), spec.realisation)


def lmul_operand_codes(spec) -> tuple[np.ndarray, np.ndarray]:
    fa, fw = lmul_formats(spec)
    return _usable_codes(fa), _usable_codes(fw)


def golden_lmul_dots(spec, qa, qw) -> np.ndarray:
    """FP32 accumulators of G dot products of codes ``qa``, ``qw`` (G, K): ``lmul_core.lmul`` products added
    in float32 in k order (before the per-output dequant)."""
    from accel.pe.lmul_core import lmul

    fa, fw = lmul_formats(spec)
    qa, qw = np.asarray(qa, dtype=np.int64), np.asarray(qw, dtype=np.int64)
    va, vw = fa.decode(qa.astype(fa.code_dtype)), fw.decode(qw.astype(fw.code_dtype))
    acc = np.zeros(qa.shape[0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(qa.shape[1]):
            acc += lmul(va[:, k], vw[:, k], spec.mbits, spec.realisation).astype(np.float32)
    return acc


def lmul_gemm_operands(spec, A, W):
    """What ``spec.gemm(A, W)`` feeds its datapath: codes (M, K), (K, N), FP32 scales s_a (M,), s_w (N,)."""
    from accel.quant import quantize

    qa = quantize(np.asarray(A, dtype=np.float64), spec.act_scheme, axis=1)
    qw = W if hasattr(W, "codes") else quantize(np.asarray(W, dtype=np.float64), spec.weight_scheme, axis=0)
    return qa.codes.astype(np.int64), qw.codes.astype(np.int64), qa.scales[:, 0], qw.scales[0]
