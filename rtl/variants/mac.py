"""RTL bindings of the MAC-datapath variants: ``int8_mac``, ``mixpe_w4a8``, ``minifloat_mac``, ``mixpe_w4a16``
(and its preset ``fp16_dequant_first``).

Integer accumulation builds :class:`rtl.pe.mac.MacPE` and :class:`rtl.array.ws_array.WSArray` (MixPE: with
the column-edge dequant of :mod:`rtl.array.mixpe_array`); FP32 accumulation (``minifloat_mac:accumulate=fp32``,
``mixpe_w4a16:dequant=in_loop``) builds :class:`rtl.pe.fp_mac.FpMacPE` and :class:`rtl.array.fp_array.FpWSArray`.
Every width and policy is read from the spec; golden results come from accel's cores
(``accel.pe.intdot.group_dot``, ``mixpe.group_sums``, ``kulisch.exact_matmul_int``, ``spec.group_parts``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.errors import ConfigError
from accel.pe.intmac import Int8MAC
from accel.pe.minifloat import MinifloatMAC
from accel.pe.mixpe import FP16DequantFirst, MixPEW4A8, MixPEW4A16
from rtl.config import (
    KULISCH_MAX_K,
    RtlBinding,
    fp_mac_config,
    has_act_sum,
    mac_config,
    mixpe_array,
    no_pipeline,
    register,
)


def _fp_operand(fmt):
    from rtl.arith.floats import FloatLayout
    from rtl.pe.fp_mac import FpOperand

    if hasattr(fmt, "mbits"):
        return FpOperand(fmt.bits, FloatLayout.of(fmt))
    if getattr(fmt, "frac_bits", 0):
        raise ConfigError(f"the FP32-accumulating RTL takes plain integers, got fixed-point {fmt.name!r}")
    return FpOperand(fmt.bits, None, fmt.signed)


def _mac_operand(fmt, role: str) -> dict:
    """MacConfig fields of one operand format of the exact (Kulisch / group-sum) datapath."""
    from accel.pe.elementwise import lsb_exp

    if hasattr(fmt, "mbits"):
        if not (fmt.signed and fmt.subnormals) or lsb_exp(fmt) != 1 - fmt.bias - fmt.mbits:
            raise ConfigError(f"the minifloat RTL needs a signed format with subnormals, got {fmt.name!r}")
        return {f"{role}_bits": fmt.bits, f"{role}_signed": True, f"{role}_float": (fmt.ebits, fmt.mbits)}
    if getattr(fmt, "frac_bits", 0):
        raise ConfigError(f"the minifloat RTL takes plain integers, got fixed-point {fmt.name!r}")
    return {f"{role}_bits": fmt.bits, f"{role}_signed": fmt.signed}


class MacBinding(RtlBinding):
    """Integer MAC PEs (``MacPE``) and arrays; FP32-accumulating specs of a subclass build ``FpMacPE``."""

    def mac_config(self, spec):
        from rtl.pe.mac import MacConfig

        return MacConfig(act_bits=spec.act_bits, act_signed=True, weight_bits=spec.weight_bits,
                         weight_signed=self.weight_signed(spec), acc_bits=self._acc_bits(spec),
                         multiplier=self.multiplier, overflow=spec.overflow,
                         act_sum_bits=spec.act_sum_bits if self.has_act_sum(spec) else 0)

    def _acc_bits(self, spec) -> int:
        return spec.acc_bits

    # ----- builders
    def pe(self, spec):
        if self.fp_accumulating(spec):
            from rtl.pe.fp_mac import FpMacPE

            return FpMacPE(fp_mac_config(spec), spec.pipeline_depth)
        from rtl.pe.mac import MacPE

        no_pipeline(spec)
        return MacPE(mac_config(spec))

    def array(self, spec, rows: int, cols: int, *, dequant: bool = False, dequant_spec=None):
        if self.fp_accumulating(spec):
            from rtl.array.fp_array import FpWSArray

            cfg = fp_mac_config(spec)
            return FpWSArray(cfg, rows, cols, out_scale=cfg.dequant is None,  # minifloat operands: scale outputs
                             pipeline_depth=spec.pipeline_depth)
        no_pipeline(spec)
        cfg = mac_config(spec)
        if dequant:
            return mixpe_array(spec, rows, cols, dequant=dequant_spec)
        from rtl.array.ws_array import WSArray

        return WSArray(cfg, rows, cols, act_sum=has_act_sum(spec))

    def info(self, spec, rows, cols, *, dequant=False, dequant_spec=None) -> dict[str, Any]:
        if self.fp_accumulating(spec):
            cfg = fp_mac_config(spec)
            d = {"pe": spec.to_string(), "rtl_config": repr(cfg)}
            if rows is not None:
                d["array"] = {"rows": rows, "cols": cols, "dataflow": "ws",
                              "psum": "fp32, psum-in at the top (rtl.array.fp_array)",
                              "dequant": "fp16 at the top edge on weight load" if cfg.dequant else "none"}
            return d
        cfg = mac_config(spec)
        d = {"pe": spec.to_string(), "rtl_config": cfg.__dict__.copy()}
        if rows is not None:
            d["array"] = {"rows": rows, "cols": cols, "dataflow": "ws",
                          "dequant": "column_edge FP32 units (rtl.array.mixpe_array)" if dequant else
                          "none in the module: integer P (and S_a) leave the array"}
        if rows is not None and dequant:
            from dataclasses import asdict

            from rtl.array.mixpe_array import rtl_dequant_spec

            dq = dequant_spec or rtl_dequant_spec(rows, spec.group_size)
            d["array"]["dequant_spec"] = asdict(dq)  # latency_cycles: the pipeline depth built
        return d

    def product_block(self, spec):
        if self.fp_accumulating(spec):
            from rtl.pe.fp_mac import FpProductBlock

            return FpProductBlock(fp_mac_config(spec))
        from rtl.pe.mac import ProductBlock

        return ProductBlock(mac_config(spec))

    # ----- checks
    def verify(self, target, *, backend, vectors, seed, waves, workdir) -> list:
        spec = target.pe
        if self.fp_accumulating(spec):
            from rtl.verify.fp_checks import verify_fp

            return verify_fp(target, backend=backend, vectors=vectors, seed=seed, waves=waves, workdir_for=workdir)
        from rtl.verify.checks import mac_suite

        return mac_suite(target, backend=backend, vectors=vectors, seed=seed, waves=waves, workdir_for=workdir)

    def random_check(self, spec, count, backend):
        if self.fp_accumulating(spec):
            from rtl.verify.fp_checks import check_fp_pe, random_beats

            return check_fp_pe(spec, [random_beats(spec, max(1, count // 16), 16, seed=1)], backend=backend)
        from rtl.verify.checks import check_pe, random_groups

        g = spec.group_size or 16
        return check_pe(spec, [random_groups(spec, max(1, count // g), seed=1)], backend=backend)


@register(Int8MAC)
class Int8MacBinding(MacBinding):
    """``int8_mac``: array multiplier, the spec's accumulator and overflow policy."""


@register(MixPEW4A8)
class MixPEW4A8Binding(MacBinding):
    """``mixpe_w4a8``: shift-add multiplier, group accumulator and activation sums, column-edge dequant."""

    multiplier = "shift_add"
    group_dequant = True

    def weight_signed(self, spec) -> bool:
        return spec.weight_format in ("int4", "q4_0")

    def has_act_sum(self, spec) -> bool:
        from accel.pe.mixpe import needs_act_sums

        return needs_act_sums(spec.weight_format)

    def _acc_bits(self, spec) -> int:
        return spec.group_acc_bits

    def dequant_grid(self, spec) -> tuple[int, bool]:
        return 0, True


class _KulischGroups:
    """Exact per-group sums on the product grid by the golden Kulisch core (``exact_matmul_int``)."""

    @staticmethod
    def sums(binding, spec, qa: np.ndarray, qw: np.ndarray) -> np.ndarray:
        from accel.pe.elementwise import lsb_exp
        from accel.pe.kulisch import exact_matmul_int, grid_ints

        fa, fw = binding.operand_formats(spec)
        ia = grid_ints(binding.operand_values(spec, qa, "act"), lsb_exp(fa))
        iw = grid_ints(binding.operand_values(spec, qw, "weight"), lsb_exp(fw))
        G = ia.shape[0]
        out = np.zeros(G, dtype=object)
        chunk = 256
        for s in range(0, G, chunk):
            d = exact_matmul_int(ia[s:s + chunk], iw[s:s + chunk].T)  # (c, c): diagonal = group sums
            out[s:s + chunk] = [int(x) for x in np.diagonal(d)]
        return out


@register(MinifloatMAC)
class MinifloatMacBinding(MacBinding):
    """``minifloat_mac``: exact products into a Kulisch accumulator, or (``accumulate=fp32``) FP32 accumulation."""

    coded_operands = True

    def fp_accumulating(self, spec) -> bool:
        return spec.accumulate == "fp32"

    def fp_mac_config(self, spec):
        from rtl.pe.fp_mac import FpMacConfig

        return FpMacConfig(*(_fp_operand(f) for f in self.operand_formats(spec)))

    def mac_config(self, spec):
        from rtl.pe.mac import MacConfig

        if spec.accumulate != "kulisch":
            raise ConfigError(f"the minifloat_mac RTL accumulates exactly: needs accumulate='kulisch', got "
                              f"{spec.accumulate!r} (valid for RTL: kulisch)")
        fa, fw = self.operand_formats(spec)
        act, wgt = _mac_operand(fa, "act"), _mac_operand(fw, "weight")
        return MacConfig(**act, **wgt, acc_bits=spec.kulisch_bits(KULISCH_MAX_K), multiplier=self.multiplier,
                         overflow="wrap")

    def golden_groups(self, spec, qa, qw):
        return {"acc": _KulischGroups.sums(self, spec, qa, qw)}

    def fold_sums(self, spec, rows, qa, qw):
        M, C = qa.shape[0], qw.shape[1]
        flat = _KulischGroups.sums(self, spec, np.repeat(qa, C, axis=0), np.tile(qw.T, (M, 1)))
        return flat.reshape(M, C)


@register(MixPEW4A16, FP16DequantFirst)
class MixPEW4A16Binding(MixPEW4A8Binding):
    """``mixpe_w4a16``: FP16 x int4 exact group sums on FP16's grid (per_group), or (``in_loop``, the
    ``fp16_dequant_first`` preset) weights dequantized to FP16 per MAC and FP32 accumulation."""

    coded_operands = True

    def fp_accumulating(self, spec) -> bool:
        return spec.dequant == "in_loop"

    def operand_formats(self, spec):
        from accel import formats

        return formats.get("fp16"), formats.get("int4" if self.weight_signed(spec) else "uint4")

    def fp_mac_config(self, spec):
        from accel import formats
        from rtl.pe.fp_mac import FpMacConfig

        fp16 = _fp_operand(formats.get("fp16"))
        return FpMacConfig(fp16, fp16, dequant=spec.weight_format, code_signed=self.weight_signed(spec))

    def mac_config(self, spec):
        from rtl.pe.mac import MacConfig

        return MacConfig(**_mac_operand(self.operand_formats(spec)[0], "act"), weight_bits=spec.weight_bits,
                         weight_signed=self.weight_signed(spec), acc_bits=spec.group_acc_bits,
                         multiplier=self.multiplier, overflow="wrap",
                         act_sum_bits=spec.act_sum_bits if self.has_act_sum(spec) else 0)

    def dequant_grid(self, spec) -> tuple[int, bool]:
        from accel.pe.elementwise import lsb_exp

        return lsb_exp(self.operand_formats(spec)[0]), False

    def golden_groups(self, spec, qa, qw):
        """Per-group P and S_a from ``MixPEW4A16.group_parts`` (exact), in units of fp16's 2^-24 grid."""
        from accel.pe.operands import GroupWeights

        G, g = qa.shape
        lsb = self.operand_formats(spec)[0].min_subnormal
        a = self.operand_values(spec, qa, "act").reshape(1, G * g)
        zeros = np.zeros((G, 1), dtype=np.int64) if spec.weight_format == "uint4" else None
        mins = np.zeros((G, 1)) if spec.weight_format == "q4_1" else None
        gw = GroupWeights(qw.reshape(G * g, 1), np.ones((G, 1)), zeros, mins, g, spec.weight_bits,
                          self.weight_signed(spec), spec.weight_scheme)
        parts = spec.group_parts(a, gw)
        out = {"acc": np.array([int(p[0, 0] / lsb) for p in parts["P"]], dtype=object)}
        if parts["Sa"] is not None:
            out["act_sum"] = np.array([int(s / lsb) for s in parts["Sa"][:, 0]], dtype=object)
        return out
