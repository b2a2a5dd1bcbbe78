"""Verify a PE with cocotb: drive the generated Verilog in Icarus and compare every output, bit for bit,
with accel's golden model (exhaustive operand pairs when they fit, then corner and random groups).

Run:  .venv/bin/python examples/verify_pe_cocotb.py [PE_SPEC]     (needs Icarus Verilog: `iverilog`)
Exit status 1 on any mismatch.
"""

import sys

from accel import pe
from rtl.build import Target
from rtl.verify.suite import verify


def main(spec: str) -> int:
    report = verify(Target(pe.parse(spec)), backend="icarus", vectors=256, seed=0)
    for check in report["checks"]:
        print(f"{'PASS' if check['ok'] else 'FAIL'} {check['what']}: {check['results']} results, "
              f"{check['mismatches']} mismatches ({check['seconds']:.1f} s)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "mixpe_w4a8:group_size=32"))
