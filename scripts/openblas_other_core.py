"""Print an OpenBLAS core type whose kernels differ from the ones this machine picks by itself.

CI runs the fast tier a second time under it (``OPENBLAS_CORETYPE``), so a test that depends on which BLAS
kernel the CPU selects fails in CI rather than on a user's machine.  Prescott (SSE3) runs on every x86-64;
when the machine already uses it, an older SSE kernel set stands in.
"""

from __future__ import annotations

import sys

import numpy as np  # noqa: F401  (loads OpenBLAS so threadpoolctl can see it)
from threadpoolctl import threadpool_info

#: OpenBLAS names its Prescott/Core2 kernel set "Katmai" in its runtime report.
SSE3_NAMES = {"prescott", "katmai", "core2"}


def current_core() -> str | None:
    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas":
            return lib.get("architecture")
    return None


def main() -> int:
    core = current_core()
    if core is None:
        print("openblas_other_core: numpy is not linked against OpenBLAS", file=sys.stderr)
        return 1
    other = "Nehalem" if core.lower() in SSE3_NAMES else "Prescott"
    print(f"openblas_other_core: this machine uses {core}; second run uses {other}", file=sys.stderr)
    print(other)
    return 0


if __name__ == "__main__":
    sys.exit(main())
