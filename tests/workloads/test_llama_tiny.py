"""The LLaMA GGUF loader and forward pass on a tiny model written by the test (gguf.GGUFWriter)."""

from __future__ import annotations

import numpy as np
import pytest

from accel.errors import WorkloadError
from tests.workloads.tiny import WORDS, hf_llama_forward, write_tiny_llama
from workloads import providers as prov
from workloads.llama import LlamaModel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    spec = write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    return spec, LlamaModel.from_gguf(spec.path)


def test_config_read_from_metadata(tiny):
    spec, m = tiny
    c = m.config
    assert (c.n_layers, c.hidden, c.ffn, c.n_heads, c.n_kv_heads, c.vocab) == (
        spec.n_layers, spec.hidden, spec.ffn, spec.n_heads, spec.n_kv_heads, len(spec.tokens))
    assert c.rope_base == spec.rope_base
    assert m.weights["blk.0.attn_q.weight"].format == "q4_1"
    assert m.weights["output.weight"] is m.weights["token_embd.weight"]  # tied, Q8_0
    assert m.weights["output.weight"].format == "q8_0"


def test_weights_equal_gguf_dequantization(tiny):
    spec, m = tiny
    w = m.weights["blk.1.ffn_down.weight"]
    assert w.shape == (spec.ffn, spec.hidden)
    np.testing.assert_array_equal(w.float64().T, spec.hf["blk.1.ffn_down.weight"])


def test_tokenizer_round_trip_and_merges(tiny):
    _, m = tiny
    text = "the cat sat on the mat, 2024 dogs ran!"
    ids = m.encode(text)
    assert m.decode(ids) == text
    toks = [m.tokenizer.id_to_token(int(i)) for i in ids]
    assert toks[:4] == ["the", "Ġcat", "Ġsat", "Ġon"]
    assert [t for t in toks if t in "0123456789"] == ["2", "0", "2", "4"]  # digits split one by one
    assert "Ġmat" in toks and all(w in " ".join(toks) for w in WORDS[:3])
    # the control token (GGUF token type 3) is kept whole
    assert m.tokenizer.encode("<|endoftext|>the", add_special_tokens=False).ids[0] == m.config.vocab - 1


def test_forward_matches_independent_hf_style_forward(tiny):
    spec, m = tiny
    ids = m.encode("the big red dog ran and the cat sat on a mat")
    got = m.forward(ids)
    want = hf_llama_forward(spec, list(ids))
    assert got.shape == (len(ids), m.config.vocab)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_prefill_equals_incremental_decode(tiny):
    _, m = tiny
    ids = m.encode("the cat sat on the mat and the dog ran")
    full = m.forward(ids)
    cache = m.new_cache()
    parts = [m.forward(ids[:3], cache=cache)] + [m.forward(ids[j:j + 1], cache=cache) for j in range(3, len(ids))]
    assert cache.length == len(ids)
    np.testing.assert_allclose(np.concatenate(parts), full, rtol=0, atol=1e-12 * np.abs(full).max())


def test_logits_last_is_last_row(tiny):
    _, m = tiny
    ids = m.encode("a big hat")
    full = m.forward(ids)
    last = m.forward(ids, logits="last")
    assert last.shape == (1, m.config.vocab)
    np.testing.assert_allclose(last, full[-1:], rtol=0, atol=1e-12 * np.abs(full).max())  # BLAS order only


def test_float32_provider_close_to_reference(tiny):
    _, m = tiny
    ids = m.encode("the red hat sat on the dog")
    ref = m.forward(ids)
    f32 = m.forward(ids, provider=prov.float32, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
    assert not np.array_equal(f32.astype(np.float64), ref)  # it really ran in float32


def test_bad_token_ids_and_logits_mode(tiny):
    _, m = tiny
    with pytest.raises(WorkloadError, match=r"^token ids must be a non-empty sequence in 0\.\.\d+, got"):
        m.forward([m.config.vocab])
    with pytest.raises(WorkloadError, match=r"^logits must be one of all, last, got 'first'$"):
        m.forward([1], logits="first")


def test_wrong_architecture(tmp_path):
    write_tiny_llama(tmp_path / "g.gguf", arch="gpt2")
    with pytest.raises(WorkloadError, match=r"^expected a GGUF file of architecture 'llama', got 'gpt2'$"):
        LlamaModel.from_gguf(tmp_path / "g.gguf")


def test_missing_tensor(tmp_path):
    write_tiny_llama(tmp_path / "m.gguf", drop="blk.1.ffn_up.weight")
    with pytest.raises(WorkloadError, match=r"^GGUF file .* lacks tensors \['blk\.1\.ffn_up\.weight'\]$"):
        LlamaModel.from_gguf(tmp_path / "m.gguf")


def test_wrong_tensor_shape(tmp_path):
    spec = write_tiny_llama(tmp_path / "s.gguf", ffn=128)
    # rewrite the metadata's FFN width so the stored tensors no longer match it
    raw = bytearray(spec.path.read_bytes())
    key = b"llama.feed_forward_length"
    at = raw.index(key) + len(key) + 4  # key, then a uint32 value type, then the value
    assert int.from_bytes(raw[at:at + 4], "little") == 128
    raw[at:at + 4] = (96).to_bytes(4, "little")
    spec.path.write_bytes(bytes(raw))
    with pytest.raises(WorkloadError, match=r"^tensor 'blk\.0\.ffn_gate\.weight' has shape \(64, 128\); "
                                            r"expected \(64, 96\) for this config$"):
        LlamaModel.from_gguf(spec.path)


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_truncated_file(tmp_path, tiny, cut):
    spec, _ = tiny
    data = spec.path.read_bytes()
    bad = tmp_path / "t.gguf"
    bad.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(WorkloadError, match=r"^cannot read GGUF file .* \(corrupt or truncated\?\)"):
        LlamaModel.from_gguf(bad)


def test_not_a_gguf_file(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(WorkloadError, match=r"^cannot read GGUF file"):
        LlamaModel.from_gguf(bad)
    with pytest.raises(WorkloadError, match=r"^GGUF file '.*nope\.gguf' does not exist$"):
        LlamaModel.from_gguf(tmp_path / "nope.gguf")
