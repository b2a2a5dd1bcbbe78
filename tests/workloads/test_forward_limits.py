"""The decoder estimate's weights are the real model's parameters (counted in the GGUF file)."""

import pytest

from accel import limits
from workloads import fetch
from workloads.shapes import MODELS

pytestmark = pytest.mark.model


def test_decoder_weights_are_the_gguf_parameter_count():
    import gguf

    reader = gguf.GGUFReader(fetch.model_path("smollm2-135m"))
    params = sum(int(t.n_elements) for t in reader.tensors if "norm" not in t.name)  # norms: 35k, left out
    s = MODELS["smollm2-135m"]
    est = limits.decoder_forward("x", 0, n_layers=s.n_layers, hidden=s.hidden, ffn=s.ffn, n_heads=s.n_heads,
                                 n_kv_heads=s.n_kv_heads, vocab=s.vocab)
    assert est.bytes == 8 * params
