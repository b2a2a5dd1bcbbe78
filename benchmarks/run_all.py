"""Run every benchmark in this folder, one after another (each prints ratios measured in its own run)."""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    for path in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {path.name} ===", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
