"""The registry binding each PE spec class (``accel.pe``) to its RTL.

A binding (:class:`RtlBinding`) says, for the specs of its classes: the RTL config read from the spec
(nothing retyped), the operands the RTL accepts and their golden values, the golden results the checks
compare with (accel's own cores), and the builders of the PE, the R x C array and the synthesis-table
blocks, and the verification suite.  The bindings live in :mod:`rtl.variants` (one module per family,
imported by ``rtl/__init__.py``) and register themselves here; the rest of ``rtl`` asks
:func:`binding` instead of comparing variant names.

The module-level functions below are the bindings' questions asked of a spec.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.errors import ConfigError

#: Longest dot product the minifloat_mac RTL's Kulisch accumulator is sized for (spec.kulisch_bits(K)).
KULISCH_MAX_K = 4096

_BINDINGS: dict[type, RtlBinding] = {}


def register(*spec_classes: type):
    """Class decorator: bind ``spec_classes`` (``accel.pe`` spec classes) to one instance of the binding."""

    def deco(cls):
        instance = cls()
        for sc in spec_classes:
            _BINDINGS[sc] = instance
        return cls

    return deco


def variants_with_rtl() -> tuple[str, ...]:
    """Names of the PE variants with RTL, in registration order."""
    return tuple(sc.NAME for sc in _BINDINGS)


def binding(spec) -> RtlBinding:
    """The binding of a PE spec (its class, or the nearest registered base class)."""
    for cls in type(spec).__mro__:
        if cls in _BINDINGS:
            return _BINDINGS[cls]
    raise ConfigError(f"no RTL for PE variant {spec.name!r}; variants with RTL: {', '.join(variants_with_rtl())}")


class RtlBinding:
    """The RTL of one family of PE specs; subclasses override what differs."""

    #: the integer multiplier of the spec's :class:`rtl.pe.mac.MacConfig`
    multiplier = "array"
    #: whether arrays of the PE may carry MixPE's column-edge FP32 group dequant units (``--dequant``)
    group_dequant = False

    # ----- the RTL config of a spec
    def check(self, spec) -> None:
        """The dequant placement the RTL implements (the variant's default, or FP32 accumulation)."""
        implemented = type(spec)().dequant
        if spec.dequant != implemented and not self.fp_accumulating(spec):
            raise ConfigError(f"the {spec.name} RTL implements dequant={implemented!r}, got {spec.dequant!r}")

    def fp_accumulating(self, spec) -> bool:
        """Whether the spec's RTL is :mod:`rtl.pe.fp_mac` (FP32 accumulation)."""
        return False

    def mac_config(self, spec):
        """The integer :class:`rtl.pe.mac.MacConfig` of a spec."""
        raise ConfigError(f"{spec.to_string()!r} has its own RTL config, not an integer MacConfig")

    def fp_mac_config(self, spec):
        """The :class:`rtl.pe.fp_mac.FpMacConfig` of an FP32-accumulating spec."""
        raise ConfigError(f"{spec.to_string()!r} does not accumulate in FP32 (valid: minifloat_mac:accumulate=fp32, "
                          "fp16_dequant_first, mixpe_w4a16:dequant=in_loop)")

    def rtl_config(self, spec) -> Any:
        """The config object the spec's PE is built from (what a manifest records)."""
        return fp_mac_config(spec) if self.fp_accumulating(spec) else mac_config(spec)

    def weight_signed(self, spec) -> bool:
        """Whether the weight codes the PE multiplies are two's complement."""
        return True

    def has_act_sum(self, spec) -> bool:
        """Whether the PE also sums activations per group (zero-point / min correction)."""
        return False

    # ----- operands and golden results of the integer-MAC datapath
    def operand_formats(self, spec):
        """The ``accel.formats`` objects of the (activation, weight) operands the PE multiplies."""
        from accel.pe.elementwise import element_format

        return element_format(spec.act_format), element_format(spec.weight_format)

    #: whether operands are codes of ``operand_formats`` (else: plain integers in range)
    coded_operands = False

    def operand_codes(self, spec) -> tuple[np.ndarray, np.ndarray]:
        """Every (activation, weight) operand the RTL is verified on: integers in range; minifloat codes
        except NaN/Inf (the golden quantizer never produces them)."""
        if not self.coded_operands:
            (alo, ahi), (wlo, whi) = operand_ranges(spec)
            return np.arange(alo, ahi + 1), np.arange(wlo, whi + 1)
        out = []
        for fmt in self.operand_formats(spec):
            if hasattr(fmt, "mbits"):
                codes = fmt.codes()
                keep = ~np.isin(fmt.classify(codes), ("nan", "inf"))
                out.append(codes[keep].astype(np.int64))
            else:
                out.append(np.arange(fmt.min_int, fmt.max_int + 1))
        return out[0], out[1]

    def operand_values(self, spec, codes: np.ndarray, role: str) -> np.ndarray:
        """The golden value of operand codes (float64; integers for the integer PEs)."""
        if not self.coded_operands:
            return np.asarray(codes, dtype=np.float64)
        fmt = self.operand_formats(spec)[0 if role == "act" else 1]
        if hasattr(fmt, "mbits"):
            return fmt.decode(np.asarray(codes).astype(fmt.code_dtype))
        return np.asarray(codes, dtype=np.float64)

    def golden_groups(self, spec, qa: np.ndarray, qw: np.ndarray) -> dict[str, np.ndarray]:
        """Golden results of G independent groups (see :func:`golden_groups`)."""
        from accel.pe.intdot import group_dot

        cfg = self.mac_config(spec)
        G, g = qa.shape
        P, _ = group_dot(qa.reshape(1, G * g), qw.reshape(G * g, 1), g, cfg.acc_bits, cfg.overflow)
        out = {"acc": P[:, 0, 0]}
        if cfg.act_sum_bits:
            from accel.pe.mixpe import group_sums

            out["act_sum"] = group_sums(qa.reshape(1, G * g), g)[:, 0]
        return out

    def fold_sums(self, spec, rows: int, qa: np.ndarray, qw: np.ndarray) -> np.ndarray:
        """Golden sums (M, C) of weight-stationary folds ``qa`` (M, rows) x ``qw`` (rows, C)."""
        from accel.pe.intdot import group_dot

        cfg = mac_config(spec)
        P, _ = group_dot(qa, qw, rows, cfg.acc_bits, cfg.overflow)
        return P[0]

    # ----- MixPE's column-edge group dequantization
    def dequant_grid(self, spec) -> tuple[int, bool]:
        """(grid_exp, act_scale) of the dequant datapath: group sums in units of 2^grid_exp, and whether a
        per-token activation scale follows."""
        raise NotImplementedError

    # ----- builders
    def pe(self, spec):
        """The spec's PE component."""
        raise NotImplementedError

    def array(self, spec, rows: int, cols: int, *, dequant: bool = False, dequant_spec=None):
        """The spec's R x C weight-stationary array (``dequant``: with MixPE's column-edge units)."""
        raise NotImplementedError

    def info(self, spec, rows: int | None, cols: int | None, *, dequant: bool = False,
             dequant_spec=None) -> dict[str, Any]:
        """Manifest information: the spec, its RTL config (and the array)."""
        raise NotImplementedError

    def product_block(self, spec):
        """The multiplier alone, combinational (a "mul" row of the synthesis table)."""
        raise NotImplementedError

    def verify(self, target, *, backend: str, vectors: int, seed: int, waves: bool, workdir) -> list:
        """The standard check suite of a :class:`rtl.build.Target` of this family: a list of
        :class:`rtl.verify.checks.CheckReport`."""
        raise NotImplementedError

    def random_check(self, spec, count: int, backend: str):
        """About ``count`` random operands through the spec's PE on ``backend`` against the golden model: one
        :class:`rtl.verify.checks.CheckReport`."""
        raise NotImplementedError


def no_pipeline(spec, what: str = "integer datapath") -> None:
    """Raise :class:`ConfigError` when a spec asks for pipeline registers in RTL that has none (its ``what``)."""
    if spec.pipeline_depth:
        raise ConfigError(f"pipeline_depth is built for the FP32 datapaths only; {spec.to_string()!r} has an "
                          f"{what}: valid pipeline_depth: 0, got {spec.pipeline_depth!r}")


def group_dequant_variants() -> list[str]:
    """Names of the variants whose arrays may carry the column-edge group dequant units (by default)."""
    return [sc.NAME for sc, b in _BINDINGS.items() if b.group_dequant and sc().dequant == "per_group"]


# ----- the bindings' questions, asked of a spec
def fp_accumulating(spec) -> bool:
    """Whether the spec's RTL accumulates in FP32 (:mod:`rtl.pe.fp_mac`)."""
    return binding(spec).fp_accumulating(spec)


def mac_config(spec):
    """The :class:`rtl.pe.mac.MacConfig` of a PE spec (widths, multiplier, overflow policy from the spec)."""
    b = binding(spec)
    b.check(spec)
    if b.fp_accumulating(spec):
        raise ConfigError(f"{spec.to_string()!r} accumulates in FP32: its RTL config is rtl.config.fp_mac_config, "
                          "not an integer MacConfig")
    return b.mac_config(spec)


def fp_mac_config(spec):
    """The :class:`rtl.pe.fp_mac.FpMacConfig` of an FP32-accumulating spec (operand layouts from accel.formats)."""
    b = binding(spec)
    b.check(spec)
    if not b.fp_accumulating(spec):
        return RtlBinding.fp_mac_config(b, spec)
    return b.fp_mac_config(spec)


def weight_signed(spec) -> bool:
    return binding(spec).weight_signed(spec)


def has_act_sum(spec) -> bool:
    return binding(spec).has_act_sum(spec)


def operand_ranges(spec) -> tuple[tuple[int, int], tuple[int, int]]:
    """Inclusive integer ranges of (activation, weight) codes the RTL accepts (integer operands)."""
    cfg = mac_config(spec)

    def rng(bits, signed):
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    return rng(cfg.act_bits, cfg.act_signed), rng(cfg.weight_bits, cfg.weight_signed)


def operand_codes(spec) -> tuple[np.ndarray, np.ndarray]:
    return binding(spec).operand_codes(spec)


def operand_values(spec, codes: np.ndarray, role: str) -> np.ndarray:
    return binding(spec).operand_values(spec, codes, role)


def golden_groups(spec, qa: np.ndarray, qw: np.ndarray) -> dict[str, np.ndarray]:
    """Golden results of G independent groups: ``qa``, ``qw`` of shape (G, g) -> ``acc`` (G,) [``act_sum``].

    ``acc`` is the spec's group accumulator (its width and overflow policy); ``act_sum`` is the MixPE
    activation sum when the spec needs it.
    """
    mac_config(spec)
    qa, qw = np.asarray(qa, dtype=np.int64), np.asarray(qw, dtype=np.int64)
    return binding(spec).golden_groups(spec, qa, qw)


def has_group_dequant(spec) -> bool:
    """Whether the spec's array may carry MixPE's column-edge group dequant units (dequant='per_group')."""
    return binding(spec).group_dequant and spec.dequant == "per_group"


def dequant_correction(spec) -> str:
    """Which correction the MixPE dequant unit applies: 'zero' (uint4), 'min' (q4_1) or 'none'."""
    if not has_group_dequant(spec):
        raise ConfigError(f"the group dequant unit belongs to MixPE with dequant='per_group', got "
                          f"{spec.to_string()!r} (valid: {', '.join(group_dequant_variants())})")
    return {"uint4": "zero", "q4_1": "min"}.get(spec.weight_format, "none")


def dequant_grid(spec) -> tuple[int, bool]:
    """(grid_exp, act_scale) of a MixPE spec's dequant datapath: group sums in units of 2^grid_exp (W4A8 0,
    W4A16 FP16's smallest subnormal), and whether a per-token activation scale follows (W4A8 only)."""
    dequant_correction(spec)
    return binding(spec).dequant_grid(spec)


def dequant_unit(spec, latency_cycles: int | None = None, accumulate_cycles: int = 1):
    """The :class:`rtl.array.dequant.DequantUnit` for a MixPE spec (widths from the spec; latency default: the
    design default ``DequantSpec().latency_cycles``)."""
    from accel.design import DequantSpec
    from rtl.array.dequant import DequantConfig, DequantUnit, check_unit_latency

    grid_exp, act_scale = dequant_grid(spec)
    latency = DequantSpec().latency_cycles if latency_cycles is None else latency_cycles
    check_unit_latency(latency)
    DequantConfig(dequant_correction(spec), latency_cycles=latency, accumulate_cycles=accumulate_cycles)  # validates
    return DequantUnit(spec.group_acc_bits, spec.act_sum_bits, dequant_correction(spec), latency_cycles=latency,
                       grid_exp=grid_exp, act_scale=act_scale, accumulate_cycles=accumulate_cycles)


def mixpe_array(spec, rows: int, cols: int, max_rows: int = 16, dequant=None):
    """The :class:`rtl.array.mixpe_array.MixPEArray` of a MixPE spec (group size and correction from the spec)
    and a design's :class:`accel.design.DequantSpec` (None: :func:`rtl.array.mixpe_array.rtl_dequant_spec`)."""
    from rtl.array.dequant import DequantConfig
    from rtl.array.mixpe_array import MixPEArray, check_dequant_spec, check_group_size, rtl_dequant_spec, taps

    check_group_size(rows, spec.group_size)
    dq = rtl_dequant_spec(rows, spec.group_size) if dequant is None else dequant
    check_dequant_spec(dq, rows, cols, spec.group_size)
    DequantConfig(dequant_correction(spec), taps=taps(rows, spec.group_size), latency_cycles=dq.latency_cycles,
                  accumulate_cycles=dq.accumulate_cycles)  # validates before the component exists
    grid_exp, act_scale = dequant_grid(spec)
    return MixPEArray(mac_config(spec), rows, cols, spec.group_size, dequant_correction(spec), max_rows=max_rows,
                      dequant_latency=dq.latency_cycles, grid_exp=grid_exp, act_scale=act_scale,
                      accumulate_cycles=dq.accumulate_cycles)
