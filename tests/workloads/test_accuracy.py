"""The decoder accuracy protocol and its paired metrics, on a tiny LLaMA, against an independent forward."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from accel import pe
from accel.errors import WorkloadError
from tests.workloads.tiny import hf_llama_forward, write_tiny_bert, write_tiny_llama
from workloads import accuracy, refcache
from workloads import providers as prov
from workloads.bert import BertModel
from workloads.llama import LlamaModel

pytestmark = pytest.mark.unit

TEXT = "the cat sat on the mat and the dog ran on a big red hat " * 8


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    spec = write_tiny_llama(tmp_path_factory.mktemp("g") / "t.gguf")
    return spec, LlamaModel.from_gguf(spec.path)


@pytest.fixture
def text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text(TEXT)
    return str(p)


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize(("score", "first"), [("half", 8), ("all", 0)])
def test_perplexity_follows_the_protocol_of_an_independent_forward(tiny, text, score, first):
    spec, model = tiny
    n, w = 16, 3
    res = accuracy.perplexity(model, tokens=n, n_windows=w, score=score, text=text)
    ids = model.encode(TEXT, bos=False)
    nll = []
    for i in range(w):  # window i = tokens [i*n, (i+1)*n); logits at first..n-2 predict tokens first+1..n-1
        win = ids[i * n:(i + 1) * n]
        lp = _log_softmax(hf_llama_forward(spec, list(win)))
        nll.append([-lp[p, win[p + 1]] for p in range(first, n - 1)])
    want = np.array(nll)
    assert res["tokens_scored"] == want.size == w * (n - 1 - first)
    assert res["perplexity"] == pytest.approx(math.exp(want.mean()), rel=1e-9)
    np.testing.assert_allclose(res["per_window"], want.mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose(np.concatenate(res["per_token_nll"]), want.ravel(), rtol=1e-9)


def test_reference_against_itself_is_exactly_paired(tiny, text):
    _, model = tiny
    res = accuracy.perplexity(model, tokens=16, n_windows=3, text=text)
    assert res["kld"] == 0.0 and res["kld_ci95"] == [0.0, 0.0]
    assert res["top1_agreement"] == 1.0 and res["top1_agreement_ci95"] == [1.0, 1.0]
    assert res["delta_nll"] == 0.0 and res["delta_nll_ci95"] == [0.0, 0.0]
    assert res["reference_perplexity"] == res["perplexity"]


def test_pe_metrics_equal_a_direct_full_vocabulary_computation(tiny, text):
    """KL, top-1 and NLL difference recomputed here from full-window logits of both forwards."""
    _, model = tiny
    n, w = 16, 3
    p = prov.PEProvider(pe.parse("int8_mac"))
    res = accuracy.perplexity(model, provider=p, tokens=n, n_windows=w, text=text)
    ids = model.encode(TEXT, bos=False)
    kl, top1, dn = [], [], []
    for i in range(w):
        win = ids[i * n:(i + 1) * n]
        r = _log_softmax(model.forward(win))[n // 2:n - 1]
        d = _log_softmax(model.forward(win, provider=p))[n // 2:n - 1]
        kl.append((np.exp(r) * (r - d)).sum(-1))
        top1.append(r.argmax(-1) == d.argmax(-1))
        t = win[n // 2 + 1:]
        dn.append(r[np.arange(t.size), t] - d[np.arange(t.size), t])
    assert res["kld"] == pytest.approx(np.mean(kl), rel=1e-9) and res["kld"] > 0
    assert res["top1_agreement"] == np.mean(top1)
    assert res["delta_nll"] == pytest.approx(np.mean(dn), rel=1e-9, abs=1e-12)
    assert res["delta_nll"] == pytest.approx(res["mean_nll"] - res["reference_mean_nll"], abs=1e-12)
    for k in ("kld", "top1_agreement", "delta_nll"):
        lo, hi = res[k + "_ci95"]
        assert lo <= res[k] <= hi and (lo < hi or k == "top1_agreement")
    assert p.settings()["routes"]["token_embd.weight"] == "PE, q8_0 quantized to int8_per_channel_fp32"


def test_reference_is_computed_once_and_read_from_the_cache(tiny, text, monkeypatch):
    _, model = tiny
    first = accuracy.perplexity(model, tokens=16, n_windows=2, text=text)
    ids = model.encode(TEXT, bos=False)
    keys = [refcache.cache_key(model, ids[w * 16:(w + 1) * 16], np.arange(8, 15)) for w in range(2)]
    files = refcache.cache_path(keys[0]).parent.glob("*.npz")
    # one file per window and BLAS kernel set: <window key>-<blas tag>.npz
    assert sorted(f.name for f in files) == sorted(f"{k}-{refcache.blas_tag()}.npz" for k in keys)
    assert first["reference_cache"] == refcache.run_key(keys)
    calls = []
    real = accuracy.scored_logits

    def counting(*a, **k):
        calls.append(k)
        return real(*a, **k)

    monkeypatch.setattr(accuracy, "scored_logits", counting)
    again = accuracy.perplexity(model, provider=prov.PEProvider(pe.parse("int8_mac")), tokens=16, n_windows=2,
                                text=text)
    assert len(calls) == 2  # the design's two windows only
    assert again["reference_perplexity"] == first["perplexity"]
    other = accuracy.perplexity(model, tokens=16, n_windows=2, score="all", text=text)
    assert other["reference_cache"] != first["reference_cache"]


def test_mismatched_weights_stay_stored_by_default(tiny, text):
    _, model = tiny
    p = prov.PEProvider(pe.parse("fp16_dequant_first:weight_format=q4_1"))
    res = accuracy.perplexity(model, provider=p, tokens=16, n_windows=2, text=text)
    routes = p.settings()["routes"]
    assert routes["token_embd.weight"] == "float64 reference, stored q8_0 values"
    assert routes["blk.0.ffn_down.weight"] == "PE, stored q4_1 blocks" and p.requantized == {}
    q = prov.PEProvider(pe.parse("fp16_dequant_first:weight_format=q4_1"), mismatched="requantize")
    again = accuracy.perplexity(model, provider=q, tokens=16, n_windows=2, text=text)
    assert q.requantized == {"token_embd.weight": "q8_0 -> q4_1"} and again["kld"] > res["kld"]


def test_compare_pairs_two_results(tiny, text):
    _, model = tiny
    a = accuracy.perplexity(model, tokens=16, n_windows=3, text=text)
    b = accuracy.perplexity(model, provider=prov.PEProvider(pe.parse("int8_mac")), tokens=16, n_windows=3, text=text)
    c = accuracy.compare(a, b)
    assert c["delta_nll"] == pytest.approx(b["delta_nll"], abs=1e-12)
    assert c["delta_nll_ci95"] == pytest.approx(b["delta_nll_ci95"], abs=1e-12)
    assert c["perplexity_ratio"] == pytest.approx(b["perplexity"] / a["perplexity"], rel=1e-9)
    d = accuracy.perplexity(model, tokens=16, n_windows=2, text=text)
    with pytest.raises(WorkloadError, match=r"^results must cover the same tokens to be paired; they differ in "
                                            r"\{'windows': \(3, 2\), 'reference_cache': "):
        accuracy.compare(a, d)


def test_protocol_rejects_bad_settings(tiny, text):
    _, model = tiny
    with pytest.raises(WorkloadError, match=r"^score must be one of half, all, got 'most'$"):
        accuracy.perplexity(model, tokens=16, n_windows=2, score="most", text=text)
    with pytest.raises(WorkloadError, match=r"^text has \d+ tokens, fewer than 99 windows of 16 \(at most \d+ "):
        accuracy.perplexity(model, tokens=16, n_windows=99, text=text)


def test_encoder_cosine_over_sentences(tmp_path):
    d = tmp_path / "b"
    write_tiny_bert(d)
    bert = BertModel.from_dir(d)
    t = tmp_path / "s.txt"
    t.write_text(" ".join(f"the big red cat sat on {'a mat' if i % 2 else 'the dog'} {i}." for i in range(40)))
    same = accuracy.embedding_similarity(bert, provider=prov.reference, n_sentences=30, text=str(t))
    assert same["cosine_similarity"] == pytest.approx(1.0, abs=1e-12) and len(same["per_sentence"]) == 30
    got = accuracy.embedding_similarity(bert, provider=prov.PEProvider(pe.parse("mixpe_w4a8")), n_sentences=30,
                                        text=str(t))
    lo, hi = got["cosine_similarity_ci95"]
    assert 0.9 < lo <= got["cosine_similarity"] <= hi < 1.0
    with pytest.raises(WorkloadError, match=r"^text has 40 sentences of at least 4 words, fewer than 50$"):
        accuracy.embedding_similarity(bert, provider=prov.reference, n_sentences=50, text=str(t))


def test_compare_command_on_saved_results(tiny, text, tmp_path, capsys):
    import json

    from accel.cli import main

    _, model = tiny
    files = []
    for name, provider in (("a", prov.reference), ("b", prov.PEProvider(pe.parse("int8_mac")))):
        res = accuracy.perplexity(model, provider=provider, tokens=16, n_windows=3, text=text)
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(res))
    assert main(["workloads", "compare", str(files[0]), str(files[1]), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = accuracy.compare(*(json.loads(f.read_text()) for f in files))
    assert got["delta_nll"] == want["delta_nll"] and got["delta_nll_ci95"] == want["delta_nll_ci95"]
    assert got["resolved"] == (got["delta_nll_ci95"][0] > 0 or got["delta_nll_ci95"][1] < 0)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["workloads", "compare", str(bad), str(files[1])]) != 0
    assert re.search(r"cannot read result file '.*bad\.json' as JSON: ", capsys.readouterr().err)


def test_compare_pairs_two_encoder_results_per_sentence(tmp_path, capsys):
    """Two weight formats on the same sentences: the paired difference is the mean of the per-sentence
    differences, with the window bootstrap over sentences (an independent recomputation of the mean)."""
    import json

    from accel.cli import main

    d = tmp_path / "b"
    write_tiny_bert(d)
    bert = BertModel.from_dir(d)
    t = tmp_path / "s.txt"
    t.write_text(" ".join(f"the big red cat sat on {'a mat' if i % 2 else 'the dog'} {i}." for i in range(40)))
    a = accuracy.embedding_similarity(bert, provider=prov.WeightOnly("int4_g32"), n_sentences=30, text=str(t))
    b = accuracy.embedding_similarity(bert, provider=prov.WeightOnly("int8_per_channel"), n_sentences=30,
                                      text=str(t))
    c = accuracy.compare(a, b)
    want = np.mean(np.array(b["per_sentence"]) - np.array(a["per_sentence"]))
    assert c["delta_cosine_similarity"] == pytest.approx(want, abs=1e-15) and c["sentences"] == 30
    lo, hi = c["delta_cosine_similarity_ci95"]
    assert lo <= c["delta_cosine_similarity"] <= hi and c["resolved"] == (lo > 0 or hi < 0)
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    for f, r in zip(files, (a, b), strict=True):
        f.write_text(json.dumps(r))
    assert main(["workloads", "compare", str(files[0]), str(files[1]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["delta_cosine_similarity_ci95"] == [lo, hi]
    fewer = accuracy.embedding_similarity(bert, provider=prov.reference, n_sentences=20, text=str(t))
    with pytest.raises(WorkloadError, match=r"^results must cover the same sentences to be paired; they differ in "
                                            r"\{'sentences': \(30, 20\)\}$"):
        accuracy.compare(a, fewer)
