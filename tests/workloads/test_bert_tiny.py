"""The BERT safetensors loader, WordPiece tokenizer and forward on a tiny model written by the test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accel.errors import WorkloadError
from tests.workloads.tiny import hf_bert_embed, write_tiny_bert
from workloads import providers as prov
from workloads.bert import BertModel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("bert")
    info = write_tiny_bert(d)
    return info, BertModel.from_dir(d)


def test_wordpiece_matches_tokenizers_reference_implementation(tiny):
    from tokenizers.implementations import BertWordPieceTokenizer

    info, m = tiny
    ref = BertWordPieceTokenizer(str(info["dir"] / "vocab.txt"), lowercase=True, strip_accents=None)
    text = "The cats sat, and the DOG ran. A big redding hat! zebra"
    assert m.encode(text).tolist() == ref.encode(text).ids
    toks = [m.tokenizer.id_to_token(int(i)) for i in m.encode(text)]
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and "##s" in toks and "[UNK]" in toks


def test_forward_matches_independent_implementation(tiny):
    info, m = tiny
    ids = m.encode("the big red cat sat on a mat")
    np.testing.assert_allclose(m.embed(ids), hf_bert_embed(info, list(ids)), rtol=0, atol=1e-12)


def test_float32_forward_close(tiny):
    _, m = tiny
    ids = m.encode("the dog ran and the cat sat")
    ref = m.embed(ids)
    f32 = m.embed(ids, provider=prov.float32, dtype=np.float32)
    assert f32.dtype == np.float32
    assert float(np.dot(ref, f32)) > 1 - 1e-6


def test_missing_tensor(tmp_path):
    write_tiny_bert(tmp_path, drop="encoder.layer.1.output.dense.bias")
    with pytest.raises(WorkloadError, match=r"^safetensors file '.*' lacks tensors "
                                            r"\['encoder\.layer\.1\.output\.dense\.bias'\]$"):
        BertModel.from_dir(tmp_path)


def test_wrong_architecture(tmp_path):
    write_tiny_bert(tmp_path, model_type="gpt2")
    with pytest.raises(WorkloadError, match=r"^expected a config\.json with model_type 'bert', got 'gpt2'$"):
        BertModel.from_dir(tmp_path)


@pytest.mark.parametrize("corrupt", ["truncated", "empty", "garbage", "header_length", "header_json"])
def test_corrupt_safetensors(tmp_path, corrupt):
    write_tiny_bert(tmp_path)
    st = tmp_path / "model.safetensors"
    data = st.read_bytes()
    n = int.from_bytes(data[:8], "little")  # safetensors: u64 header length, JSON header, tensor bytes
    bad = {"truncated": data[:-100], "empty": b"", "garbage": b"\x07" * 64,
           "header_length": (10**12).to_bytes(8, "little") + data[8:],
           "header_json": data[:8] + b"{" * n + data[8 + n:]}[corrupt]
    st.write_bytes(bad)
    with pytest.raises(WorkloadError, match=r"^cannot read safetensors file '.*' \(corrupt or truncated\?\)"):
        BertModel.from_dir(tmp_path)


def test_wrong_shape_and_bad_config(tmp_path):
    write_tiny_bert(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["intermediate_size"] = 48
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WorkloadError, match=r"^tensor 'encoder\.layer\.0\.intermediate\.dense\.weight' has shape "
                                            r"\(64, 32\); expected \(48, 32\)$"):
        BertModel.from_dir(tmp_path)
    del cfg["num_hidden_layers"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WorkloadError, match=r"^BERT config\.json lacks key 'num_hidden_layers'$"):
        BertModel.from_dir(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(WorkloadError, match=r"^BERT model directory '.*' has no config\.json$"):
        BertModel.from_dir(tmp_path)


def test_too_long_input(tiny):
    _, m = tiny
    with pytest.raises(WorkloadError, match=r"^token ids must be 1\.\.64 ids in 0\.\.\d+, got 65 ids"):
        m.forward(np.zeros(65, dtype=np.int64))
