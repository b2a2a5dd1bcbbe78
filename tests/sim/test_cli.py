"""`accel sim` command line."""

import json
from pathlib import Path

import pandas as pd
import pytest

from cost_models.cli import main

pytestmark = pytest.mark.unit

DESIGN = Path(__file__).resolve().parents[2] / "examples" / "designs" / "mixpe_w4a8_32x32.yaml"


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_gemm_json(capsys):
    d = _json(capsys, ["sim", "--pe", "mixpe_w4a8", "--array", "16x16", "--dataflow", "os", "--gemm", "64,256,256",
                       "--json"])
    for key in ("cycles", "compute_cycles", "stall_cycles", "utilization", "dram_bits", "per_op"):
        assert key in d
    assert d["array"] == "16x16" and len(d["per_op"]) == 1 and d["per_op"][0]["m"] == 64


def test_scalesim_mode(capsys):
    d = _json(capsys, ["sim", "--pe", "int8_mac", "--dataflow", "os", "--gemm", "64,256,256", "--mode", "scalesim",
                       "--json"])
    assert d["cycles"] == 5_087  # REFERENCE.md section 5, measured SCALE-Sim run


def test_design_file_model_trace_and_output_dir(capsys, tmp_path):
    d = _json(capsys, ["sim", "--design", str(DESIGN), "--model", "smollm2-135m", "--phase", "decode", "--tokens", "16",
                       "--dram-bw", "32", "-o", str(tmp_path), "--json"])
    assert len(d["per_op"]) > 30 and d["dram_bits"] > 0
    saved = json.loads((tmp_path / "sim_result.json").read_text())
    assert saved["cycles"] == d["cycles"] and "git_commit" in saved and saved["design_spec"]["memory"][
        "dram_bandwidth_bytes_per_cycle"] == 32
    table = pd.read_parquet(tmp_path / "per_op.parquet")
    assert len(table) == len(d["per_op"])


def test_trace_directory(capsys, tmp_path):
    from workloads.trace import GemmOp, Trace, save_trace

    save_trace(Trace("toy", [GemmOp(0, "ffn_up", "prefill", 4, 64, 64, weight_ref="0.ffn_up")]), tmp_path / "tr")
    d = _json(capsys, ["sim", "--pe", "int8_mac", "--trace", str(tmp_path / "tr"), "--json"])
    assert d["per_op"][0]["name"] == "ffn_up"


def test_human_output(capsys):
    assert main(["sim", "--pe", "int8_mac", "--gemm", "32,64,64"]) == 0
    out = capsys.readouterr().out
    assert "cycles" in out and "utilization" in out and "PE-cycles/s" in out


@pytest.mark.parametrize("argv,msg", [
    (["sim", "--pe", "int8_mac", "--gemm", "1,2"],
     r"^accel: error: --gemm must be three positive integers M,N,K \(e\.g\. 256,1024,1024\), got '1,2'$"),
    (["sim", "--pe", "int8_mac", "--array", "4*4", "--gemm", "1,2,3"], r"^accel: error: array shape must be written"),
    (["sim", "--pe", "int8_mac", "--gemm", "1,2,3", "--dram-bw", "0"],
     r"^accel: error: --dram-bw must be a positive number, got 0\.0$"),
])
def test_errors_are_one_line(capsys, argv, msg):
    import re

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.match(msg, err), err


@pytest.mark.parametrize("text,msg", [
    ("pe: mixpe_w4a8\narray: {rows: 0, cols: -3, dataflow: xy}\nmemory: {dram_bandwidth_bytes_per_cycle: -1}\n",
     r"^accel: error: .*d\.yaml: .*array\.rows must be an integer in 1\.\.4096, got 0; array\.cols must be an integer "
     r"in 1\.\.4096, got -3; array\.dataflow must be one of ws, os, is, got 'xy'; "
     r"memory\.dram_bandwidth_bytes_per_cycle must be a positive number, got -1"),
    ("pe: [mixpe\narray: {\n", r"^accel: error: .*d\.yaml: malformed YAML"),
])
def test_bad_design_file_reports_every_problem(capsys, tmp_path, text, msg):
    import re

    (tmp_path / "d.yaml").write_text(text)
    assert main(["sim", "--design", str(tmp_path / "d.yaml"), "--gemm", "1,2,3"]) == 2
    err = capsys.readouterr().err
    assert re.match(msg, err), err


def test_bad_trace_directory_is_a_clean_error(capsys, tmp_path):
    import re

    (tmp_path / "manifest.json").write_text('{"schema_version": 1, "model": "m", "ops": [{"layer": 0, "name": "x", '
                                            '"phase": "prefill", "m": 0, "n": 1, "k": 1, "a_format": "fp32", '
                                            '"w_format": "fp32", "weight_ref": null, "count": 1}]}')
    assert main(["sim", "--pe", "int8_mac", "--trace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert re.match(r"^accel: error: trace op #0 \('x'\) m must be an integer >= 1, got 0$", err), err


def test_decode_flags_reach_the_design_and_the_trace(capsys):
    base = ["sim", "--pe", "int8_mac", "--model", "smollm2-135m", "--phase", "decode", "--context", "64", "--json"]
    plain = _json(capsys, base)
    wide = _json(capsys, base + ["--weight-load-bits", "8192", "--kv-format", "bfp12_b32", "--batch", "2"])
    assert wide["dram_bits_by_operand"]["weight"] == plain["dram_bits_by_operand"]["weight"]
    assert plain["dram_bits_by_operand"]["kv"] > 0  # int8 activations: 8-bit cache by default
    assert wide["dram_bits_by_operand"]["kv"] * 8 == plain["dram_bits_by_operand"]["kv"] * 2 * 4.25
    assert wide["cycles"] < plain["cycles"]


def test_a_weight_load_path_narrower_than_one_row_per_column_is_refused(capsys):
    assert main(["sim", "--pe", "int8_mac", "--array", "8x8", "--gemm", "1,64,64", "--weight-load-bits", "63"]) != 0
    assert "array.weight_load_bits_per_cycle must carry at least one PE row (8 bits) per column per cycle on 8 " \
           "columns: valid values >= 64 or omitted, got 63" in capsys.readouterr().err


def test_phase_both_reports_both_latencies(capsys):
    d = _json(capsys, ["sim", "--pe", "int8_mac", "--model", "smollm2-135m", "--phase", "both", "--context", "16",
                       "--json"])
    assert set(d["bound"]["by_phase"]) == {"prefill", "decode"}
    lat = d["latency"]
    assert lat["time_to_first_token"]["cycles"] + lat["time_per_output_token"]["cycles"] == d["cycles"]


def test_dram_technology_on_the_command_line():
    base = ["sim", "--pe", "int8_mac", "--array", "8x8", "--gemm", "1,256,512", "--json"]
    assert main([*base, "--dram", "hbm3", "--dram-bw", "64"]) == 2
    assert main([*base, "--dram", "nope"]) == 2


@pytest.mark.parametrize("command", ["sim", "cost"])
def test_design_workload_section_is_the_command_lines_context_and_batch(tmp_path, capsys, command):
    design = tmp_path / "d.yaml"
    design.write_text("pe: int8_mac\narray: {rows: 32, cols: 32}\nworkload: {context: 96, batch: 3}\n")
    model = ["--model", "smollm2-135m", "--phase", "decode", "--json"]
    pe = ["--pe", "int8_mac", "--array", "32x32"]
    runs = [["--design", str(design)], [*pe, "--context", "96", "--batch", "3"],
            ["--design", str(design), "--context", "32"], [*pe, "--context", "32", "--batch", "3"]]
    out = []
    for extra in runs:
        assert main([command, *extra, *model]) == 0
        d = json.loads(capsys.readouterr().out)
        out.append((d["cycles"], d["macs"]))
    assert out[0] == out[1] and out[2] == out[3] and out[0] != out[2]  # the flag wins over the design file
