"""SCALE-Sim compatibility: its closed-form compute cycles, and a runner for SCALE-Sim 3.0.0 itself.

In its default CALC-bandwidth mode SCALE-Sim 3.0.0 reports, for a GEMM Y[M,N] = A[M,K] @ W[K,N] on an
R x C array (REFERENCE.md section 5), with no stalls and no overlap between folds:
  output stationary:  ceil(M/R) * ceil(N/C) * (K + R + C - 2) - 1
  weight stationary:  ceil(K/R) * ceil(N/C) * (M + 2R + C - 2) - 1
  input stationary:   ceil(K/R) * ceil(M/C) * (N + 2R + C - 2) - 1   (WS with M and N exchanged)
SCALE-Sim itself needs numpy < 2.4, so it runs in its own virtual environment
(``scripts/setup_scalesim.sh``; ``$ACCEL_SCALESIM_VENV`` or ``.venv-scalesim``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import textwrap
from pathlib import Path

from accel.errors import ConfigError, ToolError
from sim import dataflows

__all__ = ["scalesim_cycles", "scalesim_python", "run_scalesim"]


def scalesim_cycles(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> int:
    """SCALE-Sim 3.0.0's compute cycles for one GEMM (module docstring)."""
    flow = dataflows.get(dataflow)
    for name, v in (("m", m), ("n", n), ("k", k), ("rows", rows), ("cols", cols)):
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {v!r}")
    return flow.scalesim_cycles(m, n, k, rows, cols)


def scalesim_python() -> Path | None:
    """The SCALE-Sim venv's python, or None when it is not installed."""
    root = Path(__file__).resolve().parent.parent
    venv = Path(os.environ.get("ACCEL_SCALESIM_VENV", root / ".venv-scalesim"))
    py = venv / "bin" / "python"
    return py if py.exists() else None


_CONFIG = """\
[general]
run_name = accel_check

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : 6144
FilterSramSzkB : 6144
OfmapSramSzkB : 2048
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Bandwidth : 10
Dataflow : {dataflow}
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : 10
IfmapSRAMBankNum : 10
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : 10
FilterSRAMBankNum : 10
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : CALC
UseRamulatorTrace : False
"""

_RUNNER = textwrap.dedent("""\
    import contextlib, io, sys
    from scalesim.scale_sim import scalesim
    cfg, topo, layout, out = sys.argv[1:5]
    with contextlib.redirect_stdout(io.StringIO()):
        s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
                     input_type_gemm=True)
        s.run_scale(top_path=out)
""")


def run_scalesim(m: int, n: int, k: int, rows: int, cols: int, dataflow: str, timeout_s: float = 600) -> int:
    """Run SCALE-Sim 3.0.0 on one GEMM and return its compute cycles ("Total Cycles" of COMPUTE_REPORT)."""
    py = scalesim_python()
    if py is None:
        raise ToolError("SCALE-Sim is not installed: run `bash scripts/setup_scalesim.sh` "
                        "(or set ACCEL_SCALESIM_VENV to its virtual environment)")
    with tempfile.TemporaryDirectory(prefix="accel-scalesim-") as tmp:
        d = Path(tmp)
        (d / "scale.cfg").write_text(_CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
        (d / "gemm.csv").write_text(f"Layer,M,N,K,\ngemm,{m},{n},{k},\n")
        (d / "layout.csv").write_text("Layer,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,"
                                      "Num Filter,Strides,\n")
        (d / "out").mkdir()
        proc = subprocess.run([str(py), "-c", _RUNNER, str(d / "scale.cfg"), str(d / "gemm.csv"),
                               str(d / "layout.csv"), str(d / "out")],
                              capture_output=True, text=True, timeout=timeout_s, cwd=d)
        reports = list((d / "out").rglob("COMPUTE_REPORT.csv"))
        if proc.returncode != 0 or not reports:
            raise ToolError(f"SCALE-Sim failed on {m}x{k}->{n} {rows}x{cols} {dataflow!r}: "
                            f"{(proc.stderr or proc.stdout).strip()[-800:]!r}")
        row = reports[0].read_text().strip().splitlines()[1].split(",")
        return int(float(row[2]))
