"""CI runs the four everyday-use scripts in examples/ exactly as a user would."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, *args: str, cwd: Path) -> str:
    out = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, f"{script} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.mark.unit
def test_simulate_design(tmp_path):
    out = _run("simulate_design.py", cwd=tmp_path)
    assert "cycles" in out and "energy" in out


@pytest.mark.amaranth
def test_export_verilog(tmp_path):
    _run("export_verilog.py", str(tmp_path / "v"), cwd=tmp_path)
    assert list((tmp_path / "v").glob("*.v")), "no Verilog written"


@pytest.mark.simulator_required
def test_verify_pe_cocotb(tmp_path):
    _run("verify_pe_cocotb.py", cwd=tmp_path)


@pytest.mark.unit
def test_plot_pareto(tmp_path):
    _run("plot_pareto.py", str(tmp_path / "p"), cwd=tmp_path)
    assert list((tmp_path / "p").rglob("*.png")), "no plot written"
