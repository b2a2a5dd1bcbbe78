"""KV cache stored in a block format (BFP), with and without K-channel sorting."""

from __future__ import annotations

import numpy as np
import pytest

from accel import quant
from accel.errors import WorkloadError
from tests.workloads.tiny import write_tiny_llama
from workloads.kvcache import KVCache, sorting_changes_blocks
from workloads.llama import LlamaModel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    return LlamaModel.from_gguf(write_tiny_llama(tmp_path_factory.mktemp("g") / "t.gguf").path)


def test_stored_values_are_the_formats_dequantized_blocks():
    rng = np.random.default_rng(1)
    k, v = rng.normal(size=(5, 2, 32)), rng.normal(size=(5, 2, 32))
    c = KVCache(1, 2, 32, kv_format="bfp12_b16")
    keys, values = c.append(0, k, v)
    want = quant.quantize(k.reshape(-1, 32), "bfp12_b16", axis=-1).dequantize().reshape(k.shape)
    np.testing.assert_array_equal(keys, want)
    assert not np.array_equal(keys, k)
    keys2, _ = c.append(0, k[:1], v[:1])
    np.testing.assert_array_equal(keys2[:5], want)  # earlier positions unchanged when the cache grows
    assert c.length == 6


def test_channel_order_quantizes_in_permuted_blocks():
    rng = np.random.default_rng(2)
    k = rng.normal(size=(3, 1, 32))
    order = rng.permutation(32)
    c = KVCache(1, 1, 32, kv_format="bfp12_b16", k_order=order[None, None, :])
    keys, _ = c.append(0, k, k)
    perm = quant.quantize(k[:, 0, order], "bfp12_b16", axis=-1).dequantize()
    want = np.empty_like(perm)
    want[:, order] = perm
    np.testing.assert_array_equal(keys[:, 0], want)


def test_sorting_without_a_format_changes_nothing(llama):
    ids = llama.encode("the cat sat on the mat")
    a = llama.forward(ids, cache=llama.new_cache())
    b = llama.forward(ids, cache=llama.new_cache(sort_k_channels=True))
    np.testing.assert_array_equal(a, b)


def test_k_channel_order_keeps_rope_pairs_and_sorts_by_norm(llama):
    order = llama.k_channel_order()
    c = llama.config
    assert order.shape == (c.n_layers, c.n_kv_heads, c.head_dim)
    assert np.array_equal(order[..., 1::2], order[..., 0::2] + 1) and np.all(order[..., 0::2] % 2 == 0)
    wk = llama.weights["blk.0.attn_k.weight"].float64()[:, :c.head_dim]
    pair = np.sqrt((wk ** 2).sum(0).reshape(-1, 2).sum(1))
    assert np.all(np.diff(pair[order[0, 0, 0::2] // 2]) <= 0)


def test_bfp16_closer_than_bfp12_and_sorting_helps_with_outlier_channels(tmp_path):
    spec = write_tiny_llama(tmp_path / "o.gguf", seed=3, n_heads=2, n_kv_heads=1)  # head_dim 32: 2 blocks of 16
    m = LlamaModel.from_gguf(spec.path)
    # outlier key channels, as in real LLMs: scale a few RoPE pairs of each layer's W_k by 20
    hd = m.config.head_dim
    for i in range(m.config.n_layers):
        w = m.weights[f"blk.{i}.attn_k.weight"].float64()
        for h in range(m.config.n_kv_heads):
            for p in (1, 12):  # channels 2-3 (block 0) and 24-25 (block 1)
                w[:, h * hd + 2 * p: h * hd + 2 * p + 2] *= 20.0
    ids = m.encode("the big red cat sat on a mat and the dog ran")
    ref = m.forward(ids)

    def err(fmt, sort):
        return float(np.abs(m.forward(ids, cache=m.new_cache(fmt, sort_k_channels=sort)) - ref).max())

    e16, e12 = err("bfp16_b16", False), err("bfp12_b16", False)
    e12w, e12c = err("bfp12_b16", "weights"), err("bfp12_b16", "calibration")
    assert e16 < e12
    assert e12w < e12 and e12c < e12


def test_calibration_order_sorts_key_rms(llama):
    ids = llama.encode("the cat sat on the mat and the big dog ran")
    order = llama.k_channel_order("calibration", calibration_ids=ids)
    cache = llama.new_cache()
    llama.forward(ids, cache=cache)
    k = cache.layer(1)[0]  # (T, kv_heads, hd)
    pair_rms = np.sqrt((k ** 2).mean(0).reshape(llama.config.n_kv_heads, -1, 2).sum(-1))
    for h in range(llama.config.n_kv_heads):
        assert np.all(np.diff(pair_rms[h][order[1, h, 0::2] // 2]) <= 0)
    with pytest.raises(WorkloadError, match=r"^K-channel sorting must be one of weights, calibration, got 'norm'$"):
        llama.k_channel_order("norm")


def test_bad_kv_settings():
    with pytest.raises(WorkloadError, match=r"^unknown KV-cache format 'bfp99'"):
        KVCache(1, 1, 8, kv_format="bfp99")
    with pytest.raises(WorkloadError, match=r"^k_order must hold one permutation of 0\.\.7 per layer and KV head"):
        KVCache(1, 1, 8, kv_format="bfp12_b16", k_order=np.zeros((1, 1, 8), dtype=int))
    with pytest.raises(WorkloadError, match=r"^KV cache expects \(T, 1, 8\) keys and values, got \(2, 1, 4\)"):
        KVCache(1, 1, 8).append(0, np.zeros((2, 1, 4)), np.zeros((2, 1, 4)))


def test_keys_only_keeps_values_as_computed():
    rng = np.random.default_rng(4)
    k, v = rng.normal(size=(3, 2, 32)), rng.normal(size=(3, 2, 32))
    keys, values = KVCache(1, 2, 32, kv_format="bfp12_b16", keys_only=True).append(0, k, v)
    np.testing.assert_array_equal(values, v)
    np.testing.assert_array_equal(keys, quant.quantize(k.reshape(-1, 32), "bfp12_b16", axis=-1).dequantize()
                                  .reshape(k.shape))


def test_queries_are_quantized_in_their_kv_heads_key_order():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(4, 4, 32))  # 4 query heads over 2 KV heads: heads 0, 1 read KV head 0
    order = np.stack([rng.permutation(32), rng.permutation(32)])[None]
    c = KVCache(1, 2, 32, kv_format="bfp12_b16", k_order=order, keys_only=True, query_format="bfp16_b16")
    got = c.queries(0, q)
    for h in range(4):
        o = order[0, h // 2]
        perm = quant.quantize(q[:, h, o], "bfp16_b16", axis=-1).dequantize()
        want = np.empty_like(perm)
        want[:, o] = perm
        np.testing.assert_array_equal(got[:, h], want)
    assert KVCache(1, 2, 32).queries(0, q) is q  # no query format: unchanged
    with pytest.raises(WorkloadError, match=r"^queries must be \(T, heads, 32\) with heads a multiple of 2, "
                       r"got shape \(4, 3, 32\)$"):
        c.queries(0, q[:, :3])


def test_query_format_changes_the_forward_pass(llama):
    ids = llama.encode("the cat sat on the mat")
    base = llama.forward(ids, cache=llama.new_cache("bfp12_b16", keys_only=True))
    withq = llama.forward(ids, cache=llama.new_cache("bfp12_b16", keys_only=True, query_format="bfp12_b16"))
    assert not np.array_equal(base, withq)


@pytest.mark.parametrize(("fmt", "head_dim", "changes"), [
    ("bfp12_b16", 64, True), ("bfp12_b32", 64, True), ("bfp12_b64", 64, False), ("bfp12_b128", 64, False),
    ("int4_per_channel", 64, False), ("float8_e4m3fn", 64, False), (None, 64, False), ("bfp12_b32", 32, False)])
def test_sorting_changes_blocks_only_when_a_block_is_shorter_than_the_head(fmt, head_dim, changes):
    assert sorting_changes_blocks(fmt, head_dim) is changes


def test_sorting_with_one_block_per_head_is_a_no_op_and_not_reported_as_sorted(llama, tmp_path):
    """The tiny model's head dim is 16: bfp12_b16 holds a whole head, whichever the channel order."""
    from workloads import accuracy

    assert llama.config.head_dim == 16
    ids = llama.encode("the cat sat on the mat and the big dog ran")
    a = llama.forward(ids, cache=llama.new_cache("bfp12_b16"))
    b = llama.forward(ids, cache=llama.new_cache("bfp12_b16", sort_k_channels=True))
    np.testing.assert_array_equal(a, b)
    text = tmp_path / "t.txt"
    text.write_text(" ".join(["the big red cat sat on a mat and the dog ran"] * 8), encoding="utf-8")
    res = accuracy.perplexity(llama, tokens=8, n_windows=2, text=str(text), kv_format="bfp12_b16",
                              sort_k_channels=True)
    assert res["sort_k_channels"] is True and res["k_channels_sorted"] is False


def test_keys_only_needs_a_format_and_unknown_query_formats_are_refused():
    with pytest.raises(WorkloadError, match=r"^keys_only stores the keys in kv_format; give a kv_format, got None$"):
        KVCache(1, 1, 8, keys_only=True)
    with pytest.raises(WorkloadError, match=r"^unknown query format 'bfp99'"):
        KVCache(1, 1, 8, query_format="bfp99")


def test_key_statistics_see_an_injected_dominant_rope_pair(tmp_path):
    """Scaling one RoPE pair of W_k by 30 in every head makes it hold most of the key energy: the statistics
    say so, and the relative K error is computed exactly as quantizing the keys block by block."""
    from workloads.keystats import key_statistics, post_rope_keys

    m = LlamaModel.from_gguf(write_tiny_llama(tmp_path / "d.gguf", seed=5, n_heads=2, n_kv_heads=1).path)
    ids = m.encode("the big red cat sat on a mat and the dog ran")
    plain = key_statistics(m, ids, kv_formats=("bfp12_b16",))
    hd = m.config.head_dim
    for i in range(m.config.n_layers):
        w = m.weights[f"blk.{i}.attn_k.weight"].float64()
        w[:, 6:8] *= 30.0  # pair 3 of the one KV head
    got = key_statistics(m, ids, kv_formats=("bfp12_b16",))
    assert got["heads"] == m.config.n_layers and got["tokens"] == ids.size
    assert got["top_pair_share"]["min"] > 0.9 > plain["top_pair_share"]["max"]
    k = np.concatenate([x.reshape(-1, hd) for x in post_rope_keys(m, ids)])
    q = quant.quantize(k, "bfp12_b16", axis=-1).dequantize()
    want = np.sqrt(((q - k) ** 2).sum() / (k ** 2).sum())
    assert got["relative_error"]["bfp12_b16"]["unsorted"] == pytest.approx(want, rel=1e-12)
