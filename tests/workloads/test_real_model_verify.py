"""The real model files, copied into a temporary cache and damaged: loading refuses them.

The copy keeps the fetch stamps and mtimes, so the untouched files count as verified without hashing;
only the damaged file (new mtime) is hashed, and found wrong.
"""

from __future__ import annotations

import re
import shutil

import pytest

from accel.cli import main
from accel.errors import WorkloadError
from tests.needs import unavailable
from workloads import fetch, models

pytestmark = pytest.mark.model


@pytest.fixture
def copied_cache(tmp_path, monkeypatch):
    """``copy(name) -> dir``: model ``name``'s cached files, copied with their stamps into a fresh cache."""

    def copy(name: str):
        if not fetch.is_cached(name):
            unavailable(f"model {name!r} is not fetched (run `accel workloads fetch {name}`)")
        src = fetch.model_dir(name)
        monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))
        dst = fetch.model_dir(name)
        shutil.copytree(src, dst)  # copy2: mtimes kept, so the copied stamps stay valid
        return dst

    monkeypatch.setattr(fetch, "_VERIFIED", {})
    models.load_model.cache_clear()
    yield copy
    models.load_model.cache_clear()


def _flip(path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def test_smollm2_with_a_flipped_tensor_byte_is_refused_by_the_cli(copied_cache, capsys):
    d = copied_cache("smollm2-135m")
    gguf = d / "SmolLM2-135M-Instruct.Q4_1.gguf"
    _flip(gguf, gguf.stat().st_size // 2)  # inside the tensor data
    code = main(["workloads", "accuracy", "smollm2-135m", "--tokens", "8", "--windows", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"accel: error: model file '{gguf}' is corrupt or was modified: SHA-256 '")
    assert err.rstrip().endswith(f"expected '{fetch.source('smollm2-135m').files[0].sha256}' (recorded at "
                                 "fetch); re-fetch it with `accel workloads fetch smollm2-135m`")


@pytest.mark.parametrize("damage", ["flip safetensors", "truncate vocab"])
def test_minilm_with_a_damaged_file_is_refused(copied_cache, damage):
    d = copied_cache("minilm-l6")
    if damage == "flip safetensors":
        path = d / "model.safetensors"
        _flip(path, path.stat().st_size - 1000)
    else:
        path = d / "vocab.txt"
        text = path.read_bytes()
        path.write_bytes(text[: len(text) // 2])
    with pytest.raises(WorkloadError, match=rf"^model file '{re.escape(str(path))}' is corrupt or was modified: "):
        models.load_model("minilm-l6")
