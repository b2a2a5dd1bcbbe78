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
all when the flow may use DSPs (:mod:`cost_models.fpga.dsp`; shift-add never maps to DSPs).
"""

from __future__ import annotations

import math

from accel.errors import ConfigError
from cost_models.fpga.blocks import SynthBlock, synth_blocks
from cost_models.fpga.dsp import DSP_TARGETS, dsps
from cost_models.fpga.structure import TARGETS, family_of, parts, structural_luts


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
                "dsps_if_allowed": {**dsp, "model": "hard multipliers per multiply (cost_models/fpga/dsp.py); the "
                                    "LUT counts here are for LUT-only mapping"},
                "model": "structural LUTs x per-family coefficient fitted to synthesis (cost_models/fpga/model.py)",
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
