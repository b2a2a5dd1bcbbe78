"""Trace manifests: bad model names, operand formats and undecodable JSON are refused at load."""

from __future__ import annotations

import json

import pytest

from accel.errors import TraceError
from workloads.trace import GemmOp, Trace, load_trace, save_trace

pytestmark = pytest.mark.unit


def _saved(tmp_path, **op_fields):
    op = GemmOp(0, "attn_q", "prefill", 2, 4, 3, a_format="int8_per_channel_fp32", w_format="q4_1",
                weight_ref="blk.0.attn_q.weight", **op_fields)
    return save_trace(Trace("smollm2-135m", [op, GemmOp(0, "attn_k", "prefill", 2, 4, 3, "fp64", "fp32")]),
                      tmp_path / "t")


def _edit(d, fn):
    path = d / "manifest.json"
    man = json.loads(path.read_text())
    fn(man)
    path.write_text(json.dumps(man))
    return d


def test_valid_formats_and_models_load(tmp_path):
    tr = load_trace(_saved(tmp_path))
    assert tr.model == "smollm2-135m"
    assert [(o.a_format, o.w_format) for o in tr.ops] == [("int8_per_channel_fp32", "q4_1"), ("fp64", "fp32")]


@pytest.mark.parametrize("field, value, message", [
    ("a_format", "int99", r"a_format: invalid integer format 'int99': bits must be 2\.\.8; valid choices: int2, "),
    ("a_format", "bogus", r"a_format: unknown format 'bogus'; valid choices: int2, int3, "),
    ("w_format", "q4_9", r"w_format: unknown format 'q4_9'; valid choices: "),
    ("w_format", 4, r"w_format: format name must be a string, got 4$"),
    ("a_format", None, r"a_format: format name must be a string, got None$"),
    ("a_format", "x" * 10_000, r"a_format: unknown format 'x{50,}\.\.\.x{50,}'; valid choices: "),
])
def test_bogus_operand_formats_are_refused(tmp_path, field, value, message):
    d = _edit(_saved(tmp_path), lambda m: m["ops"][1].__setitem__(field, value))
    with pytest.raises(TraceError, match=rf"^trace op #1 in '.*manifest\.json': {message}"):
        load_trace(d, arrays=False)


@pytest.mark.parametrize("model", [5, None, "", "   ", "a\nb", "m" * 201, ["smollm2-135m"]])
def test_bogus_model_names_are_refused(tmp_path, model):
    d = _edit(_saved(tmp_path), lambda m: m.__setitem__("model", model))
    with pytest.raises(TraceError, match=r"^trace manifest '.*manifest\.json' key 'model' must name the model \(a "
                                         r"printable string of 1\.\.200 characters\), got "):
        load_trace(d)


@pytest.mark.parametrize("text", ['{"ops": [' + "9" * 5000 + "]}", "[" * 100_000 + "]" * 100_000, "\udcff"])
def test_undecodable_manifests_are_refused(tmp_path, text):
    d = tmp_path / "t"
    d.mkdir()
    (d / "manifest.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(TraceError, match=r"^cannot read trace manifest '.*manifest\.json': "):
        load_trace(d)
