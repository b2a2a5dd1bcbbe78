"""Tests on the real SmolLM2-135M (Q4_1 GGUF) and all-MiniLM-L6-v2 files (fetched by `make setup`).

Kept short for the CI budget: one model load each, few tokens, few windows.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from accel import pe
from accel.cli import main
from tests.workloads.tiny import hf_from_gguf, hf_llama_forward
from workloads import accuracy, fetch
from workloads import providers as prov
from workloads.models import load_model, real_trace
from workloads.shapes import shape_trace
from workloads.text import topics_text

pytestmark = pytest.mark.model

PROMPT = "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is"


@pytest.fixture(scope="module")
def smol():
    return load_model("smollm2-135m")


@pytest.fixture(scope="module")
def minilm():
    return load_model("minilm-l6")


def test_smollm2_facts(smol):
    c = smol.config
    assert (c.n_layers, c.hidden, c.ffn, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab) == (
        30, 576, 1536, 9, 3, 64, 49152)
    assert (c.rope_base, c.rms_eps) == (100000.0, pytest.approx(1e-5))
    fmts = [w.format for n, w in smol.weights.items() if n.startswith("blk.") and hasattr(w, "format")]
    assert fmts.count("q4_1") == 210 and smol.weights["output.weight"].format == "q8_0"


@pytest.fixture(scope="module")
def prompt_logits(smol):
    """Logits of every position of REFERENCE.md section 8's prompt (one prefill, shared by two tests)."""
    ids = smol.encode(PROMPT)
    return ids, smol.forward(ids)


def test_smollm2_predicts_rome(smol, prompt_logits):
    _, logits = prompt_logits
    assert smol.decode([int(np.argmax(logits[-1]))]) == " Rome"


def test_smollm2_prefill_equals_kv_cache_decode(smol, prompt_logits):
    """Causal attention: the full prefill's first rows equal a short prefill plus decode steps from its cache."""
    ids, full = prompt_logits
    cache = smol.new_cache()
    parts = [smol.forward(ids[:3], cache=cache)] + [smol.forward(ids[j:j + 1], cache=cache) for j in range(3, 6)]
    np.testing.assert_allclose(np.concatenate(parts), full[:6], rtol=0, atol=1e-12 * np.abs(full).max())


def test_smollm2_tokenizer_round_trip(smol):
    text = topics_text()[:5000]
    assert smol.decode(smol.encode(text)) == text


def test_smollm2_reference_perplexity_on_topics(smol):
    res = accuracy.perplexity(smol, tokens=32, n_windows=1)
    # a 135M model on Python documentation: far better than chance (vocab 49152) and than unigram guessing
    assert 2 < res["perplexity"] < 200, res


def test_smollm2_pe_perplexity_close_to_reference(smol):
    ref = accuracy.perplexity(smol, tokens=8, n_windows=1)
    p = prov.PEProvider(pe.parse("mixpe_w4a16:weight_format=q4_1"), mismatched="reference")
    got = accuracy.perplexity(smol, provider=p, tokens=8, n_windows=1)
    assert p.requantized == {}  # every Q4_1 block went to the PE as stored
    assert got["perplexity"] == pytest.approx(ref["perplexity"], rel=0.1)


def test_smollm2_decode_trace_matches_shape_only(smol):
    tr = real_trace("smollm2-135m", phase="decode", tokens=8, keep_tensors=False, model=smol)
    want = shape_trace("smollm2-135m", phase="decode", tokens=8, fold_heads=False)
    assert [(o.layer, o.name, o.m, o.n, o.k) for o in tr.ops] == [(o.layer, o.name, o.m, o.n, o.k) for o in want.ops]
    assert tr.ops[-1].weight_ref == "token_embd.weight" and tr.ops[-1].w_format == "q8_0"


def test_minilm_tokenizer_equals_upstream_tokenizer_json(minilm):
    from tokenizers import Tokenizer

    up = Tokenizer.from_file(str(fetch.model_path("minilm-l6", "tokenizer.json")))
    up.no_padding()
    up.no_truncation()
    text = topics_text()[:20000]
    assert minilm.tokenizer.encode(text).ids == up.encode(text).ids


def test_minilm_embeddings_rank_paraphrases_first(minilm):
    s = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
         "A man is riding a horse."]
    e = np.array([minilm.embed(minilm.encode(x)) for x in s])
    assert e.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-12)
    sim = e @ e.T
    assert sim[0, 1] > 0.6 and sim[0, 1] > sim[0, 3] > sim[0, 2]
    f32 = minilm.embed(minilm.encode(s[0]), provider=prov.float32, dtype=np.float32)
    assert float(e[0] @ f32) > 1 - 1e-6


def test_minilm_accuracy_cli(capsys, tmp_path):
    design = tmp_path / "d.yaml"
    design.write_text("pe: mixpe_w4a8\n")
    code = main(["workloads", "accuracy", "minilm-l6", "--design", str(design), "--sentences", "16", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["pe"] == "mixpe_w4a8" and res["sentences"] == len(res["per_sentence"]) == 16
    lo, hi = res["cosine_similarity_ci95"]
    assert 0.9 < lo <= res["cosine_similarity"] <= hi < 1.0
    code = main(["workloads", "accuracy", "minilm-l6", "--weights", "int8_per_channel", "--tokens", "16",
                 "--windows", "1", "--json"])
    res8 = json.loads(capsys.readouterr().out)
    assert code == 0 and res8["arithmetic"] == "weight-only quantization"
    assert res["cosine_similarity"] < res8["cosine_similarity"] < 1.0


def test_smollm2_accuracy_cli_with_bfp_kv_cache(capsys):
    argv = ["workloads", "accuracy", "smollm2-135m", "--tokens", "8", "--windows", "1", "--json"]
    assert main(argv) == 0
    ref = json.loads(capsys.readouterr().out)
    assert main(argv + ["--kv-format", "bfp12_b32", "--kv-sort", "weights"]) == 0
    kv = json.loads(capsys.readouterr().out)
    assert ref["arithmetic"] == "float64 reference" and ref["kv_format"] is None
    assert kv["kv_format"] == "bfp12_b32" and kv["sort_k_channels"] == "weights"
    assert kv["perplexity"] != ref["perplexity"] and kv["perplexity"] == pytest.approx(ref["perplexity"], rel=0.5)


def _independent_perplexity(tokens: int, windows: int, text: str) -> float:
    """exp(mean NLL) of consecutive windows, second half scored, by the independent Hugging Face style forward
    on gguf-dequantized weights and the upstream-format tokenizer of the GGUF."""
    spec = hf_from_gguf(fetch.model_path("smollm2-135m"))
    ids = load_model("smollm2-135m").tokenizer.encode(text, add_special_tokens=False).ids
    nll = []
    for w in range(windows):
        win = ids[w * tokens:(w + 1) * tokens]
        z = hf_llama_forward(spec, win)
        z = z - z.max(axis=-1, keepdims=True)
        lp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        nll += [-lp[p, win[p + 1]] for p in range(tokens // 2, tokens - 1)]
    return float(np.exp(np.mean(nll)))


def _cli_reference(capsys, tmp_path, tokens: int, windows: int) -> tuple[dict, str]:
    text = topics_text()[:40 * tokens * windows]
    path = tmp_path / "text.txt"
    path.write_text(text)
    code = main(["workloads", "accuracy", "smollm2-135m", "--text", str(path), "--tokens", str(tokens), "--windows",
                 str(windows), "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out), text


@pytest.mark.parametrize(("tokens", "windows"), [(64, 2), pytest.param(512, 4, marks=pytest.mark.slow)])
def test_cli_reference_perplexity_equals_an_independent_forward(capsys, tmp_path, tokens, windows):
    res, text = _cli_reference(capsys, tmp_path, tokens, windows)
    assert res["tokens_scored"] == windows * (tokens // 2 - 1) and len(res["per_window"]) == windows
    assert res["perplexity"] == pytest.approx(_independent_perplexity(tokens, windows, text), rel=1e-6)
    assert res["kld"] == 0.0 and res["top1_agreement"] == 1.0 and res["delta_nll"] == 0.0
    for k in ("kld_ci95", "top1_agreement_ci95", "delta_nll_ci95"):
        assert len(res[k]) == 2
    assert res["mean_nll"] == pytest.approx(np.log(res["perplexity"]), rel=1e-12)
