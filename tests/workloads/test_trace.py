"""Trace capture on a tiny model, save/load round trips, and shape-only traces."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from accel.errors import TraceError, WorkloadError
from tests.workloads.tiny import write_tiny_llama
from workloads import providers as prov
from workloads.capture import Recorder
from workloads.llama import LlamaModel
from workloads.shapes import MODELS, ModelShape, shape_trace
from workloads.trace import SCHEMA_VERSION, GemmOp, Trace, load_trace, save_trace

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    spec = write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    return LlamaModel.from_gguf(spec.path)


def tiny_shape(m: LlamaModel) -> ModelShape:
    c = m.config
    return ModelShape("tiny", "llama", c.n_layers, c.hidden, c.ffn, c.n_heads, c.n_kv_heads, c.vocab)


def _key(op: GemmOp):
    return (op.layer, op.name, op.phase, op.m, op.n, op.k, op.count)


def test_prefill_and_decode_capture_match_shape_only_trace(tiny):
    ids = tiny.encode("the cat sat on the mat and the dog ran")
    rec = Recorder()
    cache = tiny.new_cache()
    tiny.forward(ids, cache=cache, provider=rec, logits="last")
    want = shape_trace(tiny_shape(tiny), phase="prefill", tokens=len(ids), fold_heads=False)
    assert [_key(o) for o in rec.ops] == [_key(o) for o in want.ops]
    rec.ops.clear()
    rec.phase = "decode"
    tiny.forward([3], cache=cache, provider=rec)
    want = shape_trace(tiny_shape(tiny), phase="decode", tokens=len(ids), fold_heads=False)
    assert [_key(o) for o in rec.ops] == [_key(o) for o in want.ops]
    assert rec.ops[3].name == "attn_qk[h0]" and rec.ops[3].n == len(ids) + 1


def test_activation_operand_flag_in_captured_and_shape_only_traces(tiny):
    """Attention products (W is an activation) are recognised with and without tensors; weights never are."""
    rec = Recorder()
    tiny.forward(tiny.encode("the cat sat"), provider=rec)
    for tr in (rec.trace("tiny"), shape_trace(tiny_shape(tiny), tokens=3), shape_trace("llama2-7b", tokens=4,
                                                                                      phase="decode")):
        for op in tr.ops:
            stripped = dataclasses.replace(op, a=None, w=None)
            assert op.activation_operand == stripped.activation_operand == (op.weight_ref is None), op
        assert any(op.activation_operand for op in tr.ops) and not tr.ops[-1].activation_operand  # lm_head


def test_captured_operands_reproduce_the_products(tiny):
    """Every recorded op holds the very operands the forward multiplied, so replaying it gives its product.

    The operands are compared bit for bit; the replayed products only to rounding, because two float64 BLAS
    calls on differently laid-out copies may take different kernels (the last ulp moves between CPUs).
    """
    ids = tiny.encode("a big red hat")
    seen = []

    def spy(x, w, *, name, layer):
        y = prov.reference(x, w, name=name, layer=layer)
        seen.append((np.array(x, copy=True), w, y))
        return y

    rec = Recorder(spy)
    tiny.forward(ids, provider=rec)
    assert len(seen) == len(rec.ops)
    for op, (x, w_used, y) in zip(rec.ops, seen, strict=True):
        assert op.a.dtype == x.dtype and np.array_equal(op.a, x)
        if op.weight_ref is not None:
            assert op.w is None and op.w_format in ("q4_1", "q8_0")
            w = tiny.weights[op.weight_ref]
            assert w is w_used
        else:
            w = op.w
            assert np.array_equal(w, np.asarray(w_used))
        np.testing.assert_allclose(prov.reference(op.a, w, name=op.name, layer=op.layer), y, rtol=1e-12,
                                   atol=1e-12 * float(np.abs(y).max()))
    assert rec.ops[-1].name == "lm_head" and rec.ops[-1].weight_ref == "token_embd.weight"


def test_save_load_round_trip_bit_exact(tiny, tmp_path):
    rec = Recorder()
    tiny.forward(tiny.encode("the dog sat"), provider=rec)
    tr = rec.trace("tiny", tokens=3, note="x")
    save_trace(tr, tmp_path / "t")
    back = load_trace(tmp_path / "t")
    assert back.model == "tiny" and back.meta == {"tokens": 3, "note": "x"}
    assert back.ops == tr.ops  # dataclass equality over every field but the tensors
    for a, b in zip(tr.ops, back.ops, strict=True):
        for attr in ("a", "w"):
            x, y = getattr(a, attr), getattr(b, attr)
            assert (x is None) == (y is None)
            if x is not None:
                assert x.dtype == y.dtype and np.array_equal(x, y)
    # Q, K and V share one input array: written once
    n_files = len(list((tmp_path / "t" / "arrays").glob("*.npy")))
    n_refs = sum((o.a is not None) + (o.w is not None) for o in tr.ops)
    assert n_files < n_refs
    shapes_only = load_trace(tmp_path / "t", arrays=False)
    assert all(o.a is None and o.w is None for o in shapes_only.ops)


def _saved(tmp_path):
    ops = [GemmOp(0, "attn_q", "prefill", 2, 4, 3, a=np.ones((2, 3)), weight_ref="w0"),
           GemmOp(0, "attn_qk[h0]", "prefill", 2, 2, 3, a=np.ones((2, 3)), w=np.zeros((3, 2)))]
    return save_trace(Trace("m", ops), tmp_path / "t")


def test_newer_schema_is_refused(tmp_path):
    d = _saved(tmp_path)
    man = json.loads((d / "manifest.json").read_text())
    man["schema_version"] = SCHEMA_VERSION + 1
    (d / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(TraceError, match=rf"^trace '.*' has schema_version {SCHEMA_VERSION + 1}, newer than this "
                                         rf"toolkit reads \(1\.\.{SCHEMA_VERSION}\); upgrade accel$"):
        load_trace(d)


def test_missing_array_file(tmp_path):
    d = _saved(tmp_path)
    man = json.loads((d / "manifest.json").read_text())
    (d / man["ops"][1]["w"]).unlink()
    with pytest.raises(TraceError, match=r"^trace '.*' op #1 \('attn_qk\[h0\]', layer 0\) refers to missing array "
                                         r"file 'arrays/\d+\.npy'$"):
        load_trace(d)


@pytest.mark.parametrize("content, pattern", [
    (None, r"^trace directory '.*' has no manifest\.json$"),
    ("{not json", r"^cannot read trace manifest"),
    ("[]", r"^trace manifest '.*' must be a JSON object, got list$"),
    ('{"schema_version": "1", "model": "m", "ops": []}', r"^trace manifest '.*' has invalid schema_version '1'"),
    ('{"schema_version": 1, "ops": []}', r"^trace manifest '.*' lacks keys \['model'\]$"),
    ('{"schema_version": 1, "model": "m", "ops": [{"layer": 0}]}', r"^trace op #0 in '.*' is malformed"),
])
def test_malformed_manifest(tmp_path, content, pattern):
    d = tmp_path / "t"
    d.mkdir()
    if content is not None:
        (d / "manifest.json").write_text(content)
    with pytest.raises(TraceError, match=pattern):
        load_trace(d)


def test_array_shape_mismatch(tmp_path):
    d = _saved(tmp_path)
    man = json.loads((d / "manifest.json").read_text())
    np.save(d / man["ops"][0]["a"], np.ones((5, 5)))
    with pytest.raises(TraceError, match=r"^trace op #0 \('attn_q'\) array 'a' has shape \(5, 5\); expected \(2, 3\)$"):
        load_trace(d)


def _edit_op0(d, **changes):
    man = json.loads((d / "manifest.json").read_text())
    man["ops"][0].update(changes)
    (d / "manifest.json").write_text(json.dumps(man))


@pytest.mark.parametrize("changes, pattern", [
    ({"m": -1}, r"^trace op #0 \('attn_q'\) m must be an integer >= 1, got -1$"),
    ({"k": "3"}, r"^trace op #0 \('attn_q'\) k must be an integer >= 1, got '3'$"),
    ({"count": 0}, r"^trace op #0 \('attn_q'\) count must be an integer >= 1, got 0$"),
    ({"a": "../manifest.json"}, r"^trace '.*' op #0 \('attn_q', layer 0\) has array reference '\.\./manifest\.json'; "
                                r"expected 'arrays/<file>\.npy'$"),
    ({"a": "arrays/../../x.npy"}, r"^trace '.*' op #0 .* outside its arrays/ directory$"),
])
def test_bad_op_fields_and_array_references(tmp_path, changes, pattern):
    d = _saved(tmp_path)
    _edit_op0(d, **changes)
    with pytest.raises(TraceError, match=pattern):
        load_trace(d)


@pytest.mark.parametrize("corrupt", ["garbage", "truncated", "strings"])
def test_corrupt_array_file(tmp_path, corrupt):
    d = _saved(tmp_path)
    f = d / json.loads((d / "manifest.json").read_text())["ops"][0]["a"]
    if corrupt == "garbage":
        f.write_bytes(b"not an npy file" * 4)
    elif corrupt == "truncated":
        f.write_bytes(f.read_bytes()[:-8])
    else:
        np.save(f, np.full((2, 3), "x"))
    pattern = (r"^trace array '.*' must hold numbers, got dtype <U1$" if corrupt == "strings"
               else r"^cannot read trace array '.*00000\.npy' \(corrupt or truncated\?\)")
    with pytest.raises(TraceError, match=pattern):
        load_trace(d)


def test_ops_must_be_a_list(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    (d / "manifest.json").write_text('{"schema_version": 1, "model": "m", "ops": {"0": {}}}')
    with pytest.raises(TraceError, match=r"^trace manifest '.*' key 'ops' must be a list, got dict$"):
        load_trace(d)


# ------------------------------------------------------------------------------------------- shape-only
#: Published parameter counts (Hugging Face / timm model cards), for a check independent of our GEMM list.
PUBLISHED_PARAMS = {"llama2-7b": 6_738_415_616, "llama2-13b": 13_015_864_320, "llama2-70b": 68_976_648_192,
                    "llama3-8b": 8_030_261_248, "opt-6.7b": 6_658_473_984, "vit-b16": 86_567_656,
                    "vit-h14": 632_045_800, "smollm2-135m": 134_515_008}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_weight_gemms_account_for_published_parameter_count(name):
    """Weights in GEMMs (+ the input embedding table of LLMs) = the published count within 1%
    (norms, biases, position embeddings are not GEMM weights)."""
    s = MODELS[name]
    tr = shape_trace(name, tokens=None if s.family == "vit" else 8)
    weights = sum(o.k * o.n for o in tr.ops if o.weight_ref is not None)
    if s.family != "vit":
        if name not in ("smollm2-135m", "opt-6.7b"):  # these two tie lm_head to the embedding table
            weights += s.vocab * s.hidden  # the input embedding table (a lookup, not a GEMM)
    assert weights == pytest.approx(PUBLISHED_PARAMS[name], rel=0.01)


def test_llama2_7b_prefill_macs_formula():
    T, B, h, f, L, V = 512, 4, 4096, 11008, 32, 32000
    tr = shape_trace("llama2-7b", tokens=T, batch=B)
    per_layer = B * T * (4 * h * h + 3 * h * f) + B * 2 * T * T * h
    assert tr.macs == L * per_layer + B * h * V
    dec = shape_trace("llama2-7b", phase="decode", tokens=T, batch=B)
    assert dec.macs == L * (B * (4 * h * h + 3 * h * f) + B * 2 * (T + 1) * h) + B * h * V


def test_gqa_and_folded_heads():
    tr = shape_trace("llama2-70b", tokens=16, batch=2)
    k = next(o for o in tr.ops if o.name == "attn_k")
    assert (k.m, k.n, k.k) == (32, 8 * 128, 8192)
    qk = next(o for o in tr.ops if o.name == "attn_qk")
    assert (qk.m, qk.n, qk.k, qk.count) == (16 * 8, 16, 128, 2 * 8)  # 8 query heads per KV head
    un = shape_trace("llama2-70b", tokens=16, batch=2, fold_heads=False)
    assert un.macs == tr.macs and len(un.ops) == len(tr.ops) + 80 * 2 * 63


def test_vit_fixed_sequence_and_errors():
    tr = shape_trace("vit-h14", batch=3)
    assert tr.meta["tokens"] == 257
    assert tr.ops[0].name == "patch_embed" and (tr.ops[0].m, tr.ops[0].k) == (3 * 256, 3 * 14 * 14)
    with pytest.raises(WorkloadError, match=r"^'vit-b16' has a fixed sequence of 197 tokens \(224x224 image, "
                                            r"patch 16\), got tokens=100$"):
        shape_trace("vit-b16", tokens=100)
    with pytest.raises(WorkloadError, match=r"^'vit-b16' is an encoder: only phase 'prefill' applies"):
        shape_trace("vit-b16", phase="decode")
    with pytest.raises(WorkloadError, match=r"^unknown shape-only model 'gpt5'; valid: llama2-7b, "):
        shape_trace("gpt5", tokens=4)
    with pytest.raises(WorkloadError, match=r"^batch must be a positive integer, got 0$"):
        shape_trace("opt-6.7b", tokens=4, batch=0)
    with pytest.raises(WorkloadError, match=r"^tokens must be a positive integer, got None$"):
        shape_trace("opt-6.7b")


def test_shape_trace_saves_and_loads(tmp_path):
    tr = shape_trace("opt-6.7b", tokens=64, batch=2)
    back = load_trace(save_trace(tr, tmp_path / "o"))
    assert back.ops == tr.ops and back.macs == tr.macs
    assert back.meta["config"] == dataclasses.asdict(MODELS["opt-6.7b"])


def test_recorder_rejects_bad_phase():
    with pytest.raises(TraceError, match=r"^phase must be one of prefill, decode, got 'train'$"):
        Recorder().phase = "train"


def test_weight_resolver_replays_a_trace(tiny):
    from accel import pe
    from workloads.models import weight_resolver

    rec = Recorder()
    tiny.forward(tiny.encode("the cat"), provider=rec)
    resolve = weight_resolver(tiny)
    op = next(o for o in rec.ops if o.name == "ffn_down")
    np.testing.assert_array_equal(resolve(op.weight_ref), tiny.weights[op.weight_ref].float64())
    qt = weight_resolver(tiny, pe.parse("mixpe_w4a8:weight_format=q4_1"))(op.weight_ref)
    assert qt.scheme.name == "q4_1" and qt.shape == (op.k, op.n)
    with pytest.raises(WorkloadError, match=r"^model '.*' has no weight tensor 'nope'$"):
        resolve("nope")
