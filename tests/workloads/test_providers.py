"""PE-spec matmul providers on tiny models: stored-format weights, activity totals, accuracy plumbing."""

from __future__ import annotations

import numpy as np
import pytest

from accel import pe
from accel.activity import Activity
from accel.errors import WorkloadError
from tests.workloads.tiny import write_tiny_bert, write_tiny_llama
from workloads import accuracy
from workloads import providers as prov
from workloads.bert import BertModel
from workloads.capture import Recorder
from workloads.llama import LlamaModel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    return LlamaModel.from_gguf(write_tiny_llama(tmp_path_factory.mktemp("g") / "t.gguf").path)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    d = tmp_path_factory.mktemp("b")
    write_tiny_bert(d)
    return BertModel.from_dir(d)


def test_stored_q4_1_blocks_reach_the_pe_unchanged(llama):
    spec = pe.parse("mixpe_w4a8:weight_format=q4_1")
    p = prov.PEProvider(spec)
    w = llama.weights["blk.0.ffn_down.weight"]
    qt = p.operand(w)
    assert qt.scheme.name == "q4_1" and qt.axis == 0 and qt.shape == w.shape
    np.testing.assert_array_equal(qt.dequantize(), w.float64())  # gguf's dequantization, bit for bit
    assert p.operand(w) is qt  # cached
    # Q8_0 (tied output) is not the spec's format: requantized with the spec's scheme from its values
    emb = llama.weights["output.weight"]
    assert p.operand(emb).scheme.name == "q4_1"
    assert p.requantized == {"token_embd.weight": "q8_0 -> q4_1"}


@pytest.mark.parametrize("name", ["mixpe_w4a8:weight_format=q4_1", "fp16_dequant_first:weight_format=q4_1",
                                  "int8_mac"])
def test_pe_forward_activity_equals_sum_of_activity_for(llama, name):
    spec = pe.parse(name)
    p = prov.PEProvider(spec)
    rec = Recorder(p, keep_tensors=False)
    ids = llama.encode("the cat sat on the mat")
    logits = llama.forward(ids, provider=rec)
    ref = llama.forward(ids)
    # close to the reference (4-bit weights are the stored ones; only activations/rounding differ)
    assert np.corrcoef(logits.ravel(), ref.ravel())[0, 1] > 0.99
    # products of weights kept on the float64 reference (the Q8_0 head under a Q4_1 PE) count nothing
    on_pe = [o for o in rec.ops if o.weight_ref is not None and not p.mismatched_weight(llama.weights[o.weight_ref])]
    assert len(on_pe) == len([o for o in rec.ops if o.weight_ref is not None]) - (name != "int8_mac")
    want = Activity.merge(spec.activity_for(o.m, o.n, o.k) for o in on_pe)
    got = Activity({k: v for k, v in p.activity.items() if not k.startswith("acc_overflow")})
    assert got == want


def test_fp16_dequant_first_tracks_reference_closely(llama):
    ids = llama.encode("a big red hat and a dog")
    ref = llama.forward(ids)
    p = prov.PEProvider(pe.parse("fp16_dequant_first:weight_format=q4_1"), mismatched="reference")
    got = llama.forward(ids, provider=p)
    assert p.requantized == {}  # the Q8_0 output stayed Q8_0, on the reference
    # fp16 activations (relative 2^-11 per element) through 2 layers: far below 1% of the logit range
    assert np.abs(got - ref).max() < 1e-2 * np.abs(ref).max()
    assert not np.array_equal(got, ref)


def test_attention_through_pe(llama):
    spec = pe.parse("int8_mac")
    p = prov.PEProvider(spec, attention="pe")
    rec = Recorder(p, keep_tensors=False)
    llama.forward(llama.encode("the dog sat"), provider=rec)
    assert any(o.name.startswith("attn_qk") for o in rec.ops)
    want = Activity.merge(spec.activity_for(o.m, o.n, o.k) for o in rec.ops)  # attention ops included
    assert Activity({k: v for k, v in p.activity.items() if not k.startswith("acc_overflow")}) == want
    settings = p.settings()
    assert settings["pe"] == "int8_mac" and settings["attention"] == "pe"
    assert len(settings["requantized"]) == 2 * 7 + 1  # every weight: int8_mac takes no GGML blocks
    assert settings["requantized"]["token_embd.weight"] == "q8_0 -> int8_per_channel_fp32"
    with pytest.raises(WorkloadError, match=r"^attention mode must be one of reference, pe, pe_only, got 'fp8'$"):
        prov.PEProvider(spec, attention="fp8")


def test_attention_only_through_pe(llama):
    """pe_only: exactly the attention products reach the PE; weight products stay on the float64 reference."""
    spec = pe.parse("lmul")
    p = prov.PEProvider(spec, attention="pe_only")
    rec = Recorder(p, keep_tensors=False)
    ids = llama.encode("the dog sat on a mat")
    got = llama.forward(ids, provider=rec)
    attn = [o for o in rec.ops if o.weight_ref is None]
    assert {o.name.split("[")[0] for o in attn} == {"attn_qk", "attn_pv"}
    want = Activity.merge(spec.activity_for(o.m, o.n, o.k) for o in attn)
    assert Activity({k: v for k, v in p.activity.items() if not k.startswith("acc_overflow")}) == want
    routes = p.settings()["routes"]
    assert len(routes) == 2 * 7 + 1 and all(r.startswith("float64 reference, stored ") for r in routes.values())
    assert p.requantized == {}
    # L-Mul on e4m3 attention operands moves the logits, but only a little (weights exact)
    ref = llama.forward(ids)
    assert not np.array_equal(got, ref)
    assert np.abs(got - ref).max() < 0.1 * np.abs(ref).max()


def test_minilm_style_similarity_with_quantized_weights(bert, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the big red cat sat on a mat and the dog ran. " * 10)
    same = accuracy.embedding_similarity(bert, provider=prov.reference, n_sentences=8, text=str(text))
    assert same["cosine_similarity"] == pytest.approx(1.0, abs=1e-12)
    spec = pe.parse("mixpe_w4a8")  # int4_g32 weights quantized from the fp32 tensors
    p = prov.PEProvider(spec)
    got = accuracy.embedding_similarity(bert, provider=p, n_sentences=8, text=str(text))
    assert 0.9 < got["cosine_similarity"] < 1.0
    assert p.operand(bert.weights["encoder.layer.0.attention.self.query.weight"]).scheme.name == spec.weight_scheme


def test_weight_only_provider(bert, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the big red cat sat on a mat and the dog ran. " * 10)
    p = prov.WeightOnly("mxfp4")
    w = bert.weights["encoder.layer.1.output.dense.weight"]
    from accel import quant

    np.testing.assert_array_equal(p.weights(w), quant.quantize(w.float64(), "mxfp4", axis=0).dequantize())
    res = accuracy.embedding_similarity(bert, provider=p, n_sentences=8, text=str(text))
    assert 0.9 < res["cosine_similarity"] < 1.0
    finer = accuracy.embedding_similarity(bert, provider=prov.WeightOnly("int8_per_channel"), n_sentences=8,
                                          text=str(text))
    assert res["cosine_similarity"] < finer["cosine_similarity"] < 1.0
    with pytest.raises(WorkloadError, match=r"^unknown weight scheme 'nope':"):
        prov.WeightOnly("nope")


def test_weight_only_keeps_stored_ggml_blocks(llama):
    p = prov.WeightOnly("q4_1")
    w = llama.weights["blk.0.attn_q.weight"]
    assert p.weights(w) is w.float64()
