"""The accuracy configurations of the paper claims: what each compares, and the resumable runner."""

from __future__ import annotations

import json

import pytest

from accel import formats, pe
from accel.errors import WorkloadError
from workloads import accuracy, claims
from workloads.kvcache import sorting_changes_blocks

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", list(claims.CLAIMS))
def test_labels_are_unique_and_pairs_name_configurations(name):
    configs, pairs = claims.claim(name)
    labels = [c.label for c in configs]
    assert len(set(labels)) == len(labels)
    for p in pairs:
        a, b = (next(c for c in configs if c.label == x) for x in (p.a, p.b))
        assert a.model == b.model  # paired on the same tokens or sentences


def test_lmul_attention_runs_attention_only_with_an_exact_e4m3_peer():
    configs, pairs = claims.claim("lmul-attention")
    assert {c.attention for c in configs} == {"pe_only"}
    for p in pairs:
        a, b = (pe.parse(next(c.pe for c in configs if c.label == x)) for x in (p.a, p.b))
        assert (a.NAME, b.NAME) == ("minifloat_mac", "lmul")
        assert (a.act_format, a.weight_format) == (b.act_format, b.weight_format)  # same operand formats


def test_bfp_kv_is_the_papers_setting_and_sorts_only_where_blocks_change():
    configs, pairs = claims.claim("bfp-kv")
    for c in configs:
        assert c.kv_keys_only and c.query_format.startswith("bfp16_")
        assert formats.get(c.query_format).block_size == formats.get(c.kv_format).block_size
        assert not c.kv_sort_k_channels or sorting_changes_blocks(c.kv_format, 64)
    assert {formats.get(c.kv_format).block_size for c in configs} == {16, 32, 64}
    assert sum(" vs BFP16 keys" in p.question for p in pairs) == 5
    assert len(configs) == 8 and not any(c.kv_sort_k_channels and c.kv_format.startswith("bfp16") for c in configs)


def test_zeroquant_pairs_group_wise_fp4_against_int4_on_both_models():
    configs, pairs = claims.claim("zeroquant-fp")
    assert {(c.model, c.weights) for c in configs} == {(m, w) for m in ("minilm-l6", "smollm2-135m")
                                                        for w in ("int4_g32", "e2m1_g32")}
    assert all(next(c.weights for c in configs if c.label == p.a) == "int4_g32" for p in pairs)


def test_unknown_claim():
    with pytest.raises(WorkloadError, match=r"^unknown claim 'x'; valid claims: lmul-attention, bfp-kv, "
                                            r"zeroquant-fp, minifloat-int$"):
        claims.claim("x")


def test_run_saves_each_result_resumes_and_pairs(tmp_path, monkeypatch):
    """Config.run replaced by synthetic per-sentence results: the runner saves, reuses and pairs them."""
    calls = []

    def fake_run(self, **kw):
        calls.append(self.label)
        base = 0.95 if self.weights == "int4_g32" else 0.97
        per = [base + 0.001 * (i % 5) for i in range(20)]
        return {"cosine_similarity": sum(per) / 20, "cosine_similarity_ci95": [0, 1], "per_sentence": per,
                "sentences": 20, "text": "t", "seconds": 1.0, "config": {"label": self.label}}

    monkeypatch.setattr(claims.Config, "run", fake_run)
    res = claims.run("zeroquant-fp", tmp_path, tokens=8, windows=2, sentences=20, models=["minilm-l6"])
    assert calls == ["minilm-l6/int4-g32", "minilm-l6/fp4-e2m1-g32"]
    assert (tmp_path / "minilm-l6" / "int4-g32.json").is_file()
    (pair,) = res["pairs"]
    saved = [json.loads((tmp_path / "minilm-l6" / f).read_text()) for f in ("int4-g32.json", "fp4-e2m1-g32.json")]
    assert pair["delta_cosine_similarity"] == accuracy.compare(*saved)["delta_cosine_similarity"]
    assert pair["delta_cosine_similarity"] == pytest.approx(0.02, abs=1e-12) and pair["resolved"]
    claims.run("zeroquant-fp", tmp_path, tokens=8, windows=2, sentences=20, models=["minilm-l6"])
    assert len(calls) == 2  # resumed from the saved files
