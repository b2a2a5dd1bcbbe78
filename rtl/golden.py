"""The bridge from accel's golden PE specs to RTL parameters and golden results (no arithmetic here).

``mac_config(spec)`` reads every width and policy from the spec (nothing retyped); ``golden_groups``
evaluates the golden integer core (``accel.pe.intdot.group_dot`` and ``accel.pe.mixpe.group_sums``,
the functions the specs' own ``gemm`` uses) on per-group operand vectors.
"""

from __future__ import annotations

import numpy as np

from accel.errors import ConfigError
from rtl.mac import MacConfig

#: PE variants with RTL, and the multiplier each uses.
RTL_VARIANTS = {"int8_mac": "array", "mixpe_w4a8": "shift_add", "minifloat_mac": "array", "mixpe_w4a16": "shift_add",
                "fp16_dequant_first": "array", "block_mac": "array", "lmul": "adder"}
#: Variants whose RTL is not a MacPE: their configs come from rtl.golden_block (block_config, lmul_config).
OWN_CONFIG = {"block_mac": "rtl.golden_block.block_config", "lmul": "rtl.golden_block.lmul_config"}
MIXPE = ("mixpe_w4a8", "mixpe_w4a16")
#: Longest dot product the minifloat_mac RTL's Kulisch accumulator is sized for (spec.kulisch_bits(K)).
KULISCH_MAX_K = 4096


def _check(spec) -> None:
    if spec.name not in RTL_VARIANTS:
        raise ConfigError(f"no RTL for PE variant {spec.name!r}; variants with RTL: {', '.join(RTL_VARIANTS)}")
    from accel import pe

    implemented = pe.get(spec.name).dequant
    if spec.dequant != implemented and not fp_accumulating(spec):
        raise ConfigError(f"the {spec.name} RTL implements dequant={implemented!r}, got {spec.dequant!r}")


def fp_accumulating(spec) -> bool:
    """Whether the spec's RTL is :mod:`rtl.fp_mac` (FP32 accumulation): ``minifloat_mac:accumulate=fp32`` or
    ``fp16_dequant_first`` (= ``mixpe_w4a16:dequant=in_loop``)."""
    if spec.name == "minifloat_mac":
        return spec.accumulate == "fp32"
    return spec.name in ("mixpe_w4a16", "fp16_dequant_first") and spec.dequant == "in_loop"


def fp_mac_config(spec):
    """The :class:`rtl.fp_mac.FpMacConfig` of an FP32-accumulating spec (operand layouts from accel.formats)."""
    from accel import formats
    from rtl.fp_mac import FpMacConfig, FpOperand
    from rtl.ieee import FloatLayout

    _check(spec)
    if not fp_accumulating(spec):
        raise ConfigError(f"{spec.to_string()!r} does not accumulate in FP32 (valid: minifloat_mac:accumulate=fp32, "
                          "fp16_dequant_first, mixpe_w4a16:dequant=in_loop)")

    def operand(fmt):
        if hasattr(fmt, "mbits"):
            return FpOperand(fmt.bits, FloatLayout.of(fmt))
        if getattr(fmt, "frac_bits", 0):
            raise ConfigError(f"the FP32-accumulating RTL takes plain integers, got fixed-point {fmt.name!r}")
        return FpOperand(fmt.bits, None, fmt.signed)

    if spec.name == "minifloat_mac":
        return FpMacConfig(*(operand(f) for f in _formats(spec)))
    fp16 = operand(formats.get("fp16"))
    return FpMacConfig(fp16, fp16, dequant=spec.weight_format, code_signed=weight_signed(spec))


def weight_signed(spec) -> bool:
    """Whether the weight codes the PE multiplies are two's complement."""
    if spec.name in MIXPE or spec.name == "fp16_dequant_first":
        return spec.weight_format in ("int4", "q4_0")
    return True


def has_act_sum(spec) -> bool:
    """Whether the PE also sums activations per group (zero-point / min correction)."""
    if spec.name in MIXPE:
        from accel.pe.mixpe import needs_act_sums

        return needs_act_sums(spec.weight_format)
    return False


def _formats(spec):
    from accel import formats
    from accel.pe.elementwise import element_format

    if spec.name == "mixpe_w4a16":
        (wlo, whi) = operand_ranges(spec)[1]
        return formats.get("fp16"), formats.get("int4" if wlo < 0 else "uint4")
    return element_format(spec.act_format), element_format(spec.weight_format)


def _operand(fmt, role: str) -> dict:
    """MacConfig fields of one minifloat_mac operand format."""
    from accel.pe.elementwise import lsb_exp

    if hasattr(fmt, "mbits"):
        if not (fmt.signed and fmt.subnormals) or lsb_exp(fmt) != 1 - fmt.bias - fmt.mbits:
            raise ConfigError(f"the minifloat RTL needs a signed format with subnormals, got {fmt.name!r}")
        return {f"{role}_bits": fmt.bits, f"{role}_signed": True, f"{role}_float": (fmt.ebits, fmt.mbits)}
    if getattr(fmt, "frac_bits", 0):
        raise ConfigError(f"the minifloat RTL takes plain integers, got fixed-point {fmt.name!r}")
    return {f"{role}_bits": fmt.bits, f"{role}_signed": fmt.signed}


def mac_config(spec) -> MacConfig:
    """The :class:`MacConfig` of a PE spec (widths, multiplier, overflow policy from the spec)."""
    _check(spec)
    if spec.name in OWN_CONFIG:
        raise ConfigError(f"{spec.to_string()!r} has its own RTL config ({OWN_CONFIG[spec.name]}), not an integer "
                          "MacConfig")
    if fp_accumulating(spec):
        raise ConfigError(f"{spec.to_string()!r} accumulates in FP32: its RTL config is rtl.golden.fp_mac_config, "
                          "not an integer MacConfig")
    if spec.name == "mixpe_w4a16":
        from accel import formats

        fp16 = formats.get("fp16")
        return MacConfig(**_operand(fp16, "act"), weight_bits=spec.weight_bits, weight_signed=weight_signed(spec),
                         acc_bits=spec.group_acc_bits, multiplier="shift_add", overflow="wrap",
                         act_sum_bits=spec.act_sum_bits if has_act_sum(spec) else 0)
    if spec.name == "minifloat_mac":
        if spec.accumulate != "kulisch":
            raise ConfigError(f"the minifloat_mac RTL accumulates exactly: needs accumulate='kulisch', got "
                              f"{spec.accumulate!r} (valid for RTL: kulisch)")
        fa, fw = _formats(spec)
        act, wgt = _operand(fa, "act"), _operand(fw, "weight")
        return MacConfig(**act, **wgt, acc_bits=spec.kulisch_bits(KULISCH_MAX_K), multiplier="array", overflow="wrap")
    if spec.name == "mixpe_w4a8":
        acc_bits, sum_bits = spec.group_acc_bits, spec.act_sum_bits if has_act_sum(spec) else 0
    else:
        acc_bits, sum_bits = spec.acc_bits, 0
    return MacConfig(act_bits=spec.act_bits, act_signed=True, weight_bits=spec.weight_bits,
                     weight_signed=weight_signed(spec), acc_bits=acc_bits, multiplier=RTL_VARIANTS[spec.name],
                     overflow=spec.overflow, act_sum_bits=sum_bits)


def operand_ranges(spec) -> tuple[tuple[int, int], tuple[int, int]]:
    """Inclusive integer ranges of (activation, weight) codes the RTL accepts (integer operands)."""
    cfg = mac_config(spec)

    def rng(bits, signed):
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    return rng(cfg.act_bits, cfg.act_signed), rng(cfg.weight_bits, cfg.weight_signed)


def operand_codes(spec) -> tuple[np.ndarray, np.ndarray]:
    """Every (activation, weight) operand the RTL is verified on: integers in range; minifloat codes
    except NaN/Inf (the golden quantizer never produces them)."""
    if spec.name not in ("minifloat_mac", "mixpe_w4a16"):
        (alo, ahi), (wlo, whi) = operand_ranges(spec)
        return np.arange(alo, ahi + 1), np.arange(wlo, whi + 1)
    out = []
    for fmt in _formats(spec):
        if hasattr(fmt, "mbits"):
            codes = fmt.codes()
            keep = ~np.isin(fmt.classify(codes), ("nan", "inf"))
            out.append(codes[keep].astype(np.int64))
        else:
            out.append(np.arange(fmt.min_int, fmt.max_int + 1))
    return out[0], out[1]


def operand_values(spec, codes: np.ndarray, role: str) -> np.ndarray:
    """The golden value of operand codes (float64; integers for the integer PEs)."""
    if spec.name not in ("minifloat_mac", "mixpe_w4a16"):
        return np.asarray(codes, dtype=np.float64)
    fmt = _formats(spec)[0 if role == "act" else 1]
    if hasattr(fmt, "mbits"):
        return fmt.decode(np.asarray(codes).astype(fmt.code_dtype))
    return np.asarray(codes, dtype=np.float64)


def _kulisch_groups(spec, qa: np.ndarray, qw: np.ndarray) -> np.ndarray:
    """Exact per-group sums on the product grid by the golden Kulisch core (``exact_matmul_int``)."""
    from accel.pe.elementwise import lsb_exp
    from accel.pe.kulisch import exact_matmul_int, grid_ints

    fa, fw = _formats(spec)
    ia = grid_ints(operand_values(spec, qa, "act"), lsb_exp(fa))
    iw = grid_ints(operand_values(spec, qw, "weight"), lsb_exp(fw))
    G = ia.shape[0]
    out = np.zeros(G, dtype=object)
    chunk = 256
    for s in range(0, G, chunk):
        d = exact_matmul_int(ia[s:s + chunk], iw[s:s + chunk].T)  # (c, c): diagonal = group sums
        out[s:s + chunk] = [int(x) for x in np.diagonal(d)]
    return out


def golden_groups(spec, qa: np.ndarray, qw: np.ndarray) -> dict[str, np.ndarray]:
    """Golden results of G independent groups: ``qa``, ``qw`` of shape (G, g) -> ``acc`` (G,) [``act_sum``].

    ``acc`` is the spec's group accumulator (its width and overflow policy); ``act_sum`` is the MixPE
    activation sum when the spec needs it.
    """
    from accel.pe.intdot import group_dot

    cfg = mac_config(spec)
    qa, qw = np.asarray(qa, dtype=np.int64), np.asarray(qw, dtype=np.int64)
    if spec.name == "minifloat_mac":
        return {"acc": _kulisch_groups(spec, qa, qw)}
    if spec.name == "mixpe_w4a16":
        return _w4a16_groups(spec, qa, qw)
    G, g = qa.shape
    P, _ = group_dot(qa.reshape(1, G * g), qw.reshape(G * g, 1), g, cfg.acc_bits, cfg.overflow)
    out = {"acc": P[:, 0, 0]}
    if cfg.act_sum_bits:
        from accel.pe.mixpe import group_sums

        out["act_sum"] = group_sums(qa.reshape(1, G * g), g)[:, 0]
    return out


def dequant_correction(spec) -> str:
    """Which correction the MixPE dequant unit applies: 'zero' (uint4), 'min' (q4_1) or 'none'."""
    if spec.name not in MIXPE or spec.dequant != "per_group":
        raise ConfigError(f"the group dequant unit belongs to MixPE with dequant='per_group', got "
                          f"{spec.to_string()!r} (valid: {', '.join(MIXPE)})")
    return {"uint4": "zero", "q4_1": "min"}.get(spec.weight_format, "none")


def dequant_grid(spec) -> tuple[int, bool]:
    """(grid_exp, act_scale) of a MixPE spec's dequant datapath: group sums in units of 2^grid_exp (W4A8 0,
    W4A16 FP16's smallest subnormal), and whether a per-token activation scale follows (W4A8 only)."""
    dequant_correction(spec)
    if spec.name == "mixpe_w4a16":
        from accel.pe.elementwise import lsb_exp

        return lsb_exp(_formats(spec)[0]), False
    return 0, True


def dequant_unit(spec, latency_cycles: int | None = None):
    """The :class:`rtl.dequant.DequantUnit` for a MixPE spec (widths from the spec; latency default: the
    design default ``DequantSpec().latency_cycles``)."""
    from accel.design import DequantSpec
    from rtl.dequant import DequantUnit, check_unit_latency

    grid_exp, act_scale = dequant_grid(spec)
    latency = DequantSpec().latency_cycles if latency_cycles is None else latency_cycles
    check_unit_latency(latency)
    return DequantUnit(spec.group_acc_bits, spec.act_sum_bits, dequant_correction(spec), latency_cycles=latency,
                       grid_exp=grid_exp, act_scale=act_scale)


def mixpe_array(spec, rows: int, cols: int, max_rows: int = 16, dequant=None):
    """The :class:`rtl.mixpe_array.MixPEArray` of a MixPE spec (group size and correction from the spec) and
    a design's :class:`accel.design.DequantSpec` (None: :func:`rtl.mixpe_array.rtl_dequant_spec`'s default)."""
    from rtl.mixpe_array import MixPEArray, check_dequant_spec, check_group_size, rtl_dequant_spec

    check_group_size(rows, spec.group_size)
    dq = rtl_dequant_spec(rows, spec.group_size) if dequant is None else dequant
    check_dequant_spec(dq, rows, cols, spec.group_size)
    grid_exp, act_scale = dequant_grid(spec)
    return MixPEArray(mac_config(spec), rows, cols, spec.group_size, dequant_correction(spec), max_rows=max_rows,
                      dequant_latency=dq.latency_cycles, grid_exp=grid_exp, act_scale=act_scale)


def _w4a16_groups(spec, qa: np.ndarray, qw: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group P and S_a from ``MixPEW4A16.group_parts`` (exact), in units of fp16's 2^-24 grid."""
    from accel.pe.operands import GroupWeights

    G, g = qa.shape
    lsb = _formats(spec)[0].min_subnormal
    a = operand_values(spec, qa, "act").reshape(1, G * g)
    zeros = np.zeros((G, 1), dtype=np.int64) if spec.weight_format == "uint4" else None
    mins = np.zeros((G, 1)) if spec.weight_format == "q4_1" else None
    gw = GroupWeights(qw.reshape(G * g, 1), np.ones((G, 1)), zeros, mins, g, spec.weight_bits,
                      weight_signed(spec), spec.weight_scheme)
    parts = spec.group_parts(a, gw)
    out = {"acc": np.array([int(p[0, 0] / lsb) for p in parts["P"]], dtype=object)}
    if parts["Sa"] is not None:
        out["act_sum"] = np.array([int(s / lsb) for s in parts["Sa"][:, 0]], dtype=object)
    return out
