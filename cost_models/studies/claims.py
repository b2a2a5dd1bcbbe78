"""Papers' cost claims recomputed with this package's models.

- :func:`lmul_energy`: L-Mul ("Addition is All You Need", arXiv 2410.00907) claims 95% energy saved
  per element-wise multiply and 80% per dot product.  Here: one L-Mul is one integer add over the
  exponent|mantissa fields (E + M bits, ``lmul_add``) against an ``fp_mul`` of the same format; a dot
  product element is that multiply plus one ``fp_add`` in the accumulation format.
- :func:`mac_sweep`: the minifloat-vs-integer FPGA question (Aggarwal et al., "Minifloats and Integers
  on FPGAs"): per-MAC LUTs of every 3-8-bit INT x INT and ExMy x ExMy (weight x activation) pair.
  An INT MAC is ``int_mul:a x b`` + an exact accumulator of a + b + log2(K) bits; an ExMy MAC forms
  the exact product (significand ``int_mul`` + ``exp_add``), aligns it with a ``shift`` over the
  product's fixed-point span and adds it into an exact (Kulisch) accumulator of that span + log2(K) + 1
  bits (``int_add``; the pieces of a ``kulisch_add``, priced separately because the shifter spans only
  the product's range, not the accumulator's growth bits).  Minifloats here are the Brevitas kind
  (bias 2^(E-1) - 1, subnormals, no Inf/NaN codes), so an ExMy spans 2^E - 1 + M bits of fixed point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost_models.datapath import exact_product_keys
from cost_models.fpga.model import FpgaModel
from cost_models.operators import OperatorModel, operand
from cost_models.studies.verdict import ClaimRecord, ratio_verdict

LMUL_PAPER = {"elementwise_saving": 0.95, "dot_product_saving": 0.80,
              "source": "Luo & Sun, 'Addition is All You Need for Energy-efficient Language Models', "
                        "arXiv 2410.00907 (abstract)"}
LMUL_FORMATS = ("e4m3", "e5m2", "fp16", "bf16", "fp32")
#: The claim's formats (the paper's fp32 and bf16) and our extension (e4m3), in the order the table shows them.
LMUL_CLAIM_FORMATS = (("fp32", ""), ("bf16", ""), ("e4m3", "; e4m3 is our extension, not the paper's"))
LMUL_SOURCE = "Addition is All You Need (L-Mul, arXiv 2410.00907)"


def lmul_energy(model: OperatorModel | None = None, formats=LMUL_FORMATS, accumulate: str = "fp32") -> dict:
    """Energy of L-Mul vs a float multiply, element-wise and per dot-product element, per format.

    ``accumulate``: the dot product's adder format (``fp32``, ``fp16``...) or ``"same"`` as the operands.
    """
    model = model or OperatorModel()
    rows = []
    for f in formats:
        op = operand(f)
        acc = model.price(f"fp_add:{f if accumulate == 'same' else accumulate}")
        mul = model.price(f"fp_mul:{f}x{f}")
        lm = model.price(f"lmul_add:{op.ebits + op.mbits}")
        rows.append({"format": f, "fp_mul_pj": mul.energy_pj, "lmul_pj": lm.energy_pj,
                     "elementwise_saving": 1 - lm.energy_pj / mul.energy_pj,
                     "dot_fp_pj": mul.energy_pj + acc.energy_pj, "dot_lmul_pj": lm.energy_pj + acc.energy_pj,
                     "dot_product_saving": 1 - (lm.energy_pj + acc.energy_pj) / (mul.energy_pj + acc.energy_pj),
                     "accumulate_add_pj": acc.energy_pj})
    return {"accumulate": accumulate, "rows": rows, "paper": LMUL_PAPER,
            "provenance": model.table.provenance,
            "law": "lmul = int_add(E+M); fp_mul, fp_add: power laws through Horowitz fp16/fp32 anchors"}


def lmul_records(model: OperatorModel | None = None) -> list[ClaimRecord]:
    """The L-Mul energy claims per operation as the paper states them: per multiply (95%) and per dot-product
    element (multiply + FP32 accumulate, 80%), at fp32 and bf16 (and e4m3), from the operator energies."""
    model = model or OperatorModel()
    res = lmul_energy(model, formats=tuple(f for f, _ in LMUL_CLAIM_FORMATS), accumulate="fp32")
    rows = {r["format"]: r for r in res["rows"]}
    table = f"{model.table.name} operator energies ({model.table.node_nm:g} nm)"
    out = []
    for fmt, extra in LMUL_CLAIM_FORMATS:
        r = rows[fmt]
        for what, key, paper, how in (
                ("multiply", "elementwise_saving", LMUL_PAPER["elementwise_saving"],
                 f"one L-Mul (an int_add over the {operand(fmt).ebits + operand(fmt).mbits} exponent|mantissa "
                 f"bits, {r['lmul_pj']:.3g} pJ) vs fp_mul:{fmt} ({r['fp_mul_pj']:.3g} pJ)"),
                ("dot product", "dot_product_saving", LMUL_PAPER["dot_product_saving"],
                 f"per dot-product element, multiply + fp_add:fp32 accumulate ({r['accumulate_add_pj']:.3g} pJ): "
                 f"{r['dot_lmul_pj']:.3g} vs {r['dot_fp_pj']:.3g} pJ")):
            out.append(ClaimRecord(f"L-Mul saves {paper:.0%} energy per {what} ({fmt})", LMUL_SOURCE, paper,
                                   float(r[key]), None, ratio_verdict(r[key], paper),
                                   f"cost model per operation: {how}; {table}{extra}"))
    return out


@dataclass(frozen=True)
class MacFormat:
    name: str
    bits: int
    ebits: int
    mbits: int

    @property
    def is_float(self) -> bool:
        return self.ebits > 0

    @property
    def span_bits(self) -> int:
        """Fixed-point bits spanned by the magnitudes (INT: bits - 1; ExMy: 2^E - 1 + M)."""
        return span_bits(self.ebits, self.mbits, self.bits)


def mac_formats(lo: int = 3, hi: int = 8) -> list[MacFormat]:
    """INT3..INT8 and every ExMy with 1 + E + M bits in lo..hi, E >= 1, M >= 0."""
    out = [MacFormat(f"int{b}", b, 0, 0) for b in range(lo, hi + 1)]
    out += [MacFormat(f"e{e}m{b - 1 - e}", b, e, b - 1 - e) for b in range(lo, hi + 1) for e in range(1, b)]
    return out


def span_bits(ebits: int, mbits: int, bits: int) -> int:
    """Fixed-point bits spanned by a format's magnitudes (INT: bits - 1; ExMy: 2^E - 1 + M)."""
    return (2 ** ebits - 1 + mbits) if ebits else bits - 1


def mac_keys(w: MacFormat, a: MacFormat, k: int = 1024) -> list[str]:
    """Activity keys of one MAC's datapath for a weight x activation pair (see module docstring)."""
    log_k = math.ceil(math.log2(k))
    if not w.is_float:
        return [f"int_mul:{a.bits}x{w.bits}", f"int_add:{a.bits + w.bits + log_k}"]
    span = w.span_bits + a.span_bits
    return exact_product_keys(a.name, w.name) + [f"int_add:{span + log_k + 1}"]


def mac_sweep(target: str = "xc7", k: int = 1024, lo: int = 3, hi: int = 8, model: OperatorModel | None = None):
    """Per-MAC FPGA LUTs/FFs and ASIC energy/area of every INT x INT and ExMy x ExMy pair (a DataFrame)."""
    import pandas as pd

    fpga, ops = FpgaModel(target), model or OperatorModel()
    fmts = mac_formats(lo, hi)
    rows = []
    for w in fmts:
        for a in fmts:
            if w.is_float != a.is_float:
                continue
            keys = mac_keys(w, a, k)
            acc_bits = int(keys[-1].split(":")[1])
            rows.append({"weight": w.name, "activation": a.name, "family": "minifloat" if w.is_float else "int",
                         "weight_bits": w.bits, "act_bits": a.bits, "luts": sum(fpga.luts(x) for x in keys),
                         "ffs": w.bits + a.bits + acc_bits, "acc_bits": acc_bits,
                         "energy_pj": sum(ops.price(x).energy_pj for x in keys),
                         "area_um2": sum(ops.price(x).area_um2 for x in keys), "ops": " + ".join(keys)})
    df = pd.DataFrame(rows)
    df.attrs.update({"target": target, "k": k, "node_nm": ops.table.node_nm, "table": ops.table.name})
    return df


def mac_sweep_summary(df) -> list[dict]:
    """Per (weight bits, activation bits): INT LUTs next to the cheapest and dearest ExMy pair."""
    out = []
    for (wb, ab), g in df.groupby(["weight_bits", "act_bits"]):
        i, f = g[g.family == "int"], g[g.family == "minifloat"]
        lo, hi = f.loc[f.luts.idxmin()], f.loc[f.luts.idxmax()]
        out.append({"weight_bits": int(wb), "act_bits": int(ab), "int_luts": float(i.luts.iloc[0]),
                    "minifloat_min_luts": float(lo.luts), "minifloat_min_pair": f"{lo.weight} x {lo.activation}",
                    "minifloat_max_luts": float(hi.luts), "minifloat_max_pair": f"{hi.weight} x {hi.activation}",
                    "int_over_min_minifloat": float(i.luts.iloc[0] / lo.luts)})
    return out


def plot_mac_sweep(df, path: str) -> str:
    """Scatter of LUTs per MAC vs operand bits, INT vs minifloat (matplotlib imported here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for fam, marker in (("minifloat", "x"), ("int", "o")):
        g = df[df.family == fam]
        ax.scatter(g.weight_bits + g.act_bits, g.luts, marker=marker, label=fam, alpha=0.6)
    ax.set_xlabel("weight bits + activation bits")
    ax.set_ylabel(f"LUTs per MAC ({df.attrs.get('target', '')}, model)")
    ax.set_yscale("log")
    ax.set_title(f"Per-MAC FPGA cost, exact accumulation over K={df.attrs.get('k')}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


MIXPE_PAPER = {"energy_reduction": 1.4, "speedup": 2.6,
               "source": "MixPE, arXiv 2411.16158 (abstract: vs state-of-the-art quantization accelerators)"}
#: (MixPE spec, conventional spec with the same weight/activation quantization: equal accuracy target)
MIXPE_PAIRS = (("mixpe_w4a16", "fp16_dequant_first"),)


def mixpe_vs_conventional(trace, *, pairs=MIXPE_PAIRS, array: tuple[int, int] = (32, 32), simulate=None,
                          table="horowitz45") -> dict:
    """Energy of MixPE vs the dequant-first PE per weight GEMM of ``trace`` (same array, same quantized weights).

    Activation x activation GEMMs (attention scores and values: ``weight_ref`` None) are left out: neither
    PE's weight path applies to them.  With ``simulate`` (``sim.simulate``) every op's cycles and traffic
    come from the simulator; without it from the shape-only estimate.
    """
    from accel import pe as pe_mod
    from accel.design import ArraySpec, Design
    from cost_models.evaluation import price
    from cost_models.usage import usage_for_gemm, usages_from_sim_ops

    ops = [o for o in trace.ops if o.weight_ref is not None]
    out = []
    for mix, conv in pairs:
        designs = [Design(pe=pe_mod.parse(s), array=ArraySpec(*array)) for s in (mix, conv)]
        if simulate is not None:
            sub = type(trace)(trace.model, ops, dict(trace.meta))
            usages = [usages_from_sim_ops(simulate(sub, d)) for d in designs]
        else:
            usages = [[usage_for_gemm(d, o.m, o.n, o.k, count=o.count) for o in ops] for d in designs]
        rows, tot = [], [0.0, 0.0]
        for i, op in enumerate(ops):
            r = [price(d, u[i], table=table) for d, u in zip(designs, usages, strict=True)]
            arith = [sum(v.value for k, v in x.energy_breakdown_pj.items() if k.startswith(("pe.", "dequant.")))
                     for x in r]
            rows.append({"layer": op.layer, "op": op.name, "m": op.m, "n": op.n, "k": op.k, "count": op.count,
                         "mixpe_pj": r[0].energy_pj, "conventional_pj": r[1].energy_pj,
                         "ratio": r[1].energy_pj / r[0].energy_pj, "arith_ratio": arith[1] / arith[0]})
            tot[0] += r[0].energy_pj
            tot[1] += r[1].energy_pj
        out.append({"mixpe": mix, "conventional": conv, "total_ratio": tot[1] / tot[0], "rows": rows,
                    "usage": r[0].provenance["usage"]})
    return {"model": trace.model, "meta": {k: v for k, v in trace.meta.items() if k != "config"},
            "array": f"{array[0]}x{array[1]}", "pairs": out, "paper": MIXPE_PAPER}
