"""``accel rtl export|verify`` and the Verilog + manifest they write."""

import json
import re
from pathlib import Path

import pytest

from accel.cli import main

pytestmark = pytest.mark.amaranth


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_mixpe_array_writes_verilog_and_manifest(tmp_path, capsys):
    code, out, _ = run(capsys, "rtl", "export", "--pe", "mixpe_w4a8:weight_format=q4_1", "--array", "4x4",
                       "-o", str(tmp_path), "--json")
    assert code == 0
    paths = json.loads(out)
    verilog = Path(paths["verilog"]).read_text()
    manifest = json.loads(Path(paths["manifest"]).read_text())
    top = paths["module"]
    assert re.search(rf"^module {top}\(", verilog, re.M)
    assert "(* src" not in verilog  # emit_src=False
    assert not re.search(r"^\s*reg [^;]*= [0-9]+'h", verilog, re.M)  # no register initialisers: reset only
    assert manifest["latency_cycles"] == 4 + 4 - 1
    ports = manifest["ports"]
    a = ports["a__payload"]
    assert (a["width"], len(a["fields"]), a["fields"]["3"]) == (32, 4, {"width": 8, "signed": True, "offset": 24})
    assert ports["wl__payload"]["fields"]["0"] == {"width": 4, "signed": False, "offset": 0}  # Q4_1 codes 0..15
    assert set(ports["o__payload"]["fields"]) == {"y", "act_sum"}
    assert manifest["pe"] == "mixpe_w4a8:weight_format=q4_1" and manifest["array"]["rows"] == 4
    for port in ports:
        assert re.search(rf"\b(input|output) (\[\d+:0\] )?{port};", verilog)


def test_export_from_a_design_file(tmp_path, capsys):
    design = tmp_path / "d.yaml"
    design.write_text("pe: mixpe_w4a8:group_size=32\narray: {rows: 2, cols: 3, dataflow: ws}\n")
    code, out, _ = run(capsys, "rtl", "export", "--design", str(design), "-o", str(tmp_path / "out"), "--json")
    assert code == 0
    manifest = json.loads(Path(json.loads(out)["manifest"]).read_text())
    assert manifest["array"] == {**manifest["array"], "rows": 2, "cols": 3}
    assert manifest["ports"]["a__payload"]["width"] == 2 * 8


@pytest.mark.parametrize("argv,message", [
    (["--pe", "block_mac", "--array", "3x4"], r"^accel: error: the block_mac array needs rows dividing the block "
                                              r"size 32, got rows=3 \(valid: 1, 2, 4, 8, 16, 32\)$"),
    (["--pe", "fp16_dequant_first", "--array", "4x4", "--dequant"],
     r"^accel: error: --dequant needs --array \(or a design\) and a MixPE PE \(mixpe_w4a8, mixpe_w4a16\), got PE "
     r"'fp16_dequant_first' and array 4x4$"),
    (["--pe", "int8_mac", "--array", "4by4"], r"^accel: error: array shape must be written ROWSxCOLS like '32x32', "
                                              r"got '4by4'$"),
    ([], r"^accel: error: give exactly one of --design FILE or --pe SPEC, got design=None pe=None$"),
])
def test_export_errors(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, "rtl", "export", *argv, "-o", str(tmp_path))
    assert code == 2
    assert re.match(message, err.strip()), err


def test_export_rejects_non_ws_designs(tmp_path, capsys):
    design = tmp_path / "d.yaml"
    design.write_text("pe: int8_mac\narray: {rows: 2, cols: 2, dataflow: os}\n")
    code, _, err = run(capsys, "rtl", "export", "--design", str(design), "-o", str(tmp_path))
    assert code == 2
    assert re.match(r"^accel: error: the RTL array is weight stationary; design '.*d\.yaml' has dataflow 'os' "
                    r"\(valid: 'ws'\)$", err.strip()), err


def test_verify_cli_amaranth(capsys):
    code, out, _ = run(capsys, "rtl", "verify", "--pe", "mixpe_w4a8:weight_format=uint4", "--sim", "amaranth",
                       "--vectors", "200", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"]
    assert [c["what"] for c in report["checks"]] == ["pe exhaustive pairs", "pe corner + random groups"]
    assert report["checks"][0]["results"] == 256 * 16


def test_verify_cli_array_amaranth(capsys):
    code, out, _ = run(capsys, "rtl", "verify", "--pe", "int8_mac", "--array", "2x3", "--sim", "amaranth",
                       "--vectors", "40", "--json")
    assert code == 0
    assert json.loads(out)["ok"]


def test_export_mixpe_array_with_dequant(tmp_path, capsys):
    code, out, _ = run(capsys, "rtl", "export", "--pe", "mixpe_w4a8:group_size=8,weight_format=uint4", "--array", "4x2",
                       "--dequant", "-o", str(tmp_path), "--json")
    assert code == 0
    manifest = json.loads(Path(json.loads(out)["manifest"]).read_text())
    assert manifest["module"].endswith("_array4x2_dequant")
    assert set(manifest["ports"]["q__payload"]["fields"]) == {"scale", "zero"}
    assert manifest["ports"]["o__payload"]["fields"]["y"]["width"] == 2 * 32
    assert manifest["latency_cycles"] == 4 + 2 - 1 + 4  # R + C - 1 + DequantSpec().latency_cycles


def test_dequant_needs_a_mixpe_array(tmp_path, capsys):
    code, _, err = run(capsys, "rtl", "export", "--pe", "int8_mac", "--array", "2x2", "--dequant", "-o", str(tmp_path))
    assert code == 2
    assert re.match(r"^accel: error: --dequant needs --array \(or a design\) and a MixPE PE "
                    r"\(mixpe_w4a8, mixpe_w4a16\), got PE 'int8_mac' and array 2x2$", err.strip()), err


def test_rtl_refuses_a_dequant_placement_it_does_not_implement():
    from accel import pe
    from accel.errors import ConfigError
    from rtl.config import mac_config

    with pytest.raises(ConfigError, match=r"^the int8_mac RTL implements dequant='per_output', got 'per_group'$"):
        mac_config(pe.parse("int8_mac:group_size=32,dequant=per_group"))
