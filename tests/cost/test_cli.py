"""`accel cost`: --json keys, reports, one-line errors."""

import json

import pytest

from cost_models.cli import main

pytestmark = pytest.mark.unit


def run(capsys, *argv):
    code = main(["cost", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_gemm_json(capsys):
    code, out, _ = run(capsys, "--pe", "mixpe_w4a8", "--array", "8x8", "--gemm", "4,32,64", "--analytic", "--json")
    d = json.loads(out)
    assert code == 0
    assert d["energy_pj"] > 0 and d["area_um2"] > 0 and d["fpga_luts"] > 0
    assert "pe.shift_add_mul" in d["energy_breakdown_pj"] and "pes" in d["area_breakdown_um2"]
    assert d["macs"] == 4 * 32 * 64 and d["provenance"]["node_nm"] == 45
    assert list(d["energy_components_pj"]) == ["pe_arith", "dequant", "array", "sram", "dram", "leakage"]
    assert sum(d["energy_components_pj"].values()) == pytest.approx(d["energy_pj"], rel=1e-12)


def test_model_and_node_scaling(capsys):
    args = ("--pe", "int8_mac", "--model", "smollm2-135m", "--phase", "decode", "--tokens", "8", "--analytic", "--json")
    _, out45, _ = run(capsys, *args)
    _, out22, _ = run(capsys, *args, "--node-nm", "22")
    a, b = json.loads(out45), json.loads(out22)
    assert b["area_breakdown_um2"]["pes"]["value"] == pytest.approx(a["area_breakdown_um2"]["pes"]["value"]
                                                                   * (22 / 45) ** 2)
    assert b["provenance"]["node_nm"] == 22 and a["energy_per_token_pj"] == a["energy_pj"]  # decode: 1 token


def test_human_output(capsys):
    code, out, _ = run(capsys, "--pe", "int8_mac", "--gemm", "2,2,2", "--analytic")
    assert code == 0 and out.startswith("design int8_mac on 32x32 ws") and "energy (pJ)" in out


@pytest.mark.parametrize("show", ["anchors", "ops", "sram", "calibration", "fpga", "lmul"])
def test_show_reports(capsys, show):
    code, out, _ = run(capsys, "--show", show, "--json")
    assert code == 0 and json.loads(out)


def test_show_anchors_reproduces_table(capsys):
    _, out, _ = run(capsys, "--show", "anchors", "--json")
    d = json.loads(out)
    for op, anchors in d["ops"].items():
        for a, r in zip(anchors, d["reproduced"][op], strict=True):
            assert (r["energy_pj"], r["area_um2"]) == (a["energy_pj"], a["area_um2"])


@pytest.mark.parametrize("argv,msg", [
    (("--gemm", "1,2,3"), r"give exactly one of --design FILE or --pe SPEC \(got design=None, pe=None\)"),
    (("--pe", "int8_mac"), r"give exactly one workload: --gemm M,N,K, --trace DIR or --model NAME \(got \[\]\)"),
    (("--pe", "int8_mac", "--gemm", "1,2"),
     r"--gemm must be three positive integers M,N,K \(e\.g\. 256,1024,1024\), got '1,2'$"),
    (("--pe", "nope", "--gemm", "1,2,3"), r"unknown PE variant 'nope'; valid variants: "),
    (("--show", "ops", "--table", "x.txt"), r"unknown cost table 'x.txt'; valid: horowitz45 or a path"),
])
def test_errors_are_one_line(capsys, argv, msg):
    import re

    code, out, err = run(capsys, *argv, "--analytic")
    assert code == 2 and out == ""
    assert re.match(r"^accel: error: " + msg, err) and err.count("\n") == 1


def test_trace_and_design_file(capsys, tmp_path):
    import yaml

    from workloads.trace import GemmOp, Trace, save_trace

    ops = [GemmOp(0, "ffn_up", "prefill", 8, 64, 64, weight_ref="0.ffn_up", count=2),
           GemmOp(0, "ffn_down", "prefill", 8, 64, 64, weight_ref="0.ffn_down")]
    save_trace(Trace("tiny", ops, {"phase": "prefill", "tokens": 8, "batch": 1}), tmp_path / "tr")
    (tmp_path / "d.yaml").write_text(yaml.safe_dump({"name": "t", "pe": "mixpe_w4a8:group_size=32",
                                                     "array": {"rows": 8, "cols": 8}}))
    code, out, _ = run(capsys, "--design", str(tmp_path / "d.yaml"), "--trace", str(tmp_path / "tr"), "--json")
    d = json.loads(out)
    assert code == 0 and d["macs"] == 3 * 8 * 64 * 64
    assert d["energy_per_token_pj"] == pytest.approx(d["energy_pj"] / 8)
    assert d["provenance"]["usage"].startswith("simulator")


def test_dram_technology_prices_dram_and_sets_the_simulated_bandwidth(capsys):
    base = ("--pe", "int8_mac", "--array", "8x8", "--gemm", "1,256,256", "--json")
    _, ddr4, _ = run(capsys, *base, "--dram", "ddr4")
    _, hbm3, _ = run(capsys, *base, "--dram", "hbm3")
    _, default, _ = run(capsys, *base)
    a, b, d = json.loads(ddr4), json.loads(hbm3), json.loads(default)
    assert a["energy_components_pj"] == d["energy_components_pj"] and a["cycles"] == d["cycles"]
    dram_bits = a["energy_components_pj"]["dram"] / (1950 / 64)
    assert b["energy_components_pj"]["dram"] == pytest.approx(dram_bits * 3.9, rel=1e-9)
    assert b["cycles"] <= a["cycles"]
    code, _, err = run(capsys, *base, "--dram", "gddr6")
    assert code == 2 and "unknown DRAM technology 'gddr6'; valid presets: ddr4, lpddr5, hbm3" in err
