"""``accel rtl export|verify --dequant`` for the MixPE arrays: the design's dequant latency, groups smaller
than the rows, W4A16."""

import json
from pathlib import Path

import pytest

from accel.cli import main
from accel.design import DequantSpec

pytestmark = pytest.mark.amaranth


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_export_takes_the_dequant_latency_from_the_design(tmp_path, capsys):
    design = tmp_path / "d.yaml"
    design.write_text("pe: mixpe_w4a8:group_size=2,weight_format=uint4\narray: {rows: 4, cols: 3, dataflow: ws}\n"
                      "dequant: {placement: column_edge, latency_cycles: 6, throughput_per_cycle: 2}\n")
    code, out = run(capsys, "rtl", "export", "--design", str(design), "--dequant", "-o", str(tmp_path / "o"), "--json")
    assert code == 0
    manifest = json.loads(Path(json.loads(out)["manifest"]).read_text())
    assert manifest["latency_cycles"] == 4 + 3 - 1 + 6
    assert manifest["array"]["dequant_spec"]["latency_cycles"] == 6
    ports = manifest["ports"]
    assert ports["q__payload"]["fields"]["scale"]["width"] == 32 * 3 * 2  # two groups per fold, per column
    assert ports["o__payload"]["fields"]["y"]["width"] == 32 * 3


def test_export_from_pe_uses_the_dequant_spec_default(tmp_path, capsys):
    code, out = run(capsys, "rtl", "export", "--pe", "mixpe_w4a16:weight_format=q4_1", "--array", "2x2", "--dequant",
                    "-o", str(tmp_path), "--json")
    assert code == 0
    manifest = json.loads(Path(json.loads(out)["manifest"]).read_text())
    assert manifest["latency_cycles"] == 2 + 2 - 1 + DequantSpec().latency_cycles
    a = manifest["ports"]["a__payload"]["fields"]
    assert a["x"]["width"] == 2 * 16 and "act_scale" not in a  # FP16 activations, no per-token scale


def test_design_whose_dequant_the_rtl_cannot_time_is_refused(tmp_path, capsys):
    design = tmp_path / "d.yaml"
    design.write_text("pe: mixpe_w4a8:group_size=1\narray: {rows: 4, cols: 4, dataflow: ws}\n")
    code = main(["rtl", "export", "--design", str(design), "--dequant", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code != 0
    assert "dequant.throughput_per_cycle must be >= 4" in err


@pytest.mark.parametrize("pe", ["mixpe_w4a8:group_size=2", "mixpe_w4a16:weight_format=uint4,group_size=8"])
def test_verify_dequant_array_in_amaranth(capsys, pe):
    code, out = run(capsys, "rtl", "verify", "--pe", pe, "--array", "4x4", "--dequant", "--sim", "amaranth",
                    "--vectors", "100", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["checks"][0]["mismatches"] == 0 and report["checks"][0]["results"] > 0
