"""Fuzz the trace loader: edited manifests and damaged array files load or raise TraceError, within bounds."""

from __future__ import annotations

import copy
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from workloads.trace import GemmOp, Trace, load_trace, save_trace

from .harness import fuzz_tests, values

_dirs = itertools.count()
_root = tempfile.TemporaryDirectory(prefix="accel-fuzz-trace-")
_SEED = save_trace(Trace("smollm2-135m", [
    GemmOp(0, "attn_q", "prefill", 2, 4, 3, "int8_per_channel_fp32", "q4_1", "blk.0.attn_q.weight",
           a=np.arange(6, dtype=np.float32).reshape(2, 3)),
    GemmOp(0, "attn_qk[h0]", "decode", 2, 2, 3, "fp64", "fp64", a=np.ones((2, 3)), w=np.zeros((3, 2)), count=3),
], {"tokens": 2}), Path(_root.name, "seed"))
SEED_MANIFEST = json.loads((_SEED / "manifest.json").read_text())
ARRAY_FILES = sorted(p.name for p in (_SEED / "arrays").iterdir())
KEYS = ["schema_version", "model", "meta", "ops", "layer", "name", "phase", "m", "n", "k", "a_format", "w_format",
        "weight_ref", "count", "a", "w"]
REFS = ["arrays/00000.npy", "arrays/00001.npy", "arrays/../manifest.json", "arrays/nope.npy", "../x.npy",
        "arrays/\x00.npy", "arrays/", "arrays/" + "a" * 300 + ".npy", "/etc/passwd"]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@st.composite
def edited_manifests(draw) -> dict:
    """The seed manifest with a few values replaced (by random JSON, array references or edge values)."""
    man = copy.deepcopy(SEED_MANIFEST)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(_paths(man))))
        new = draw(values(KEYS, max_leaves=8).filter(lambda v: v == v) | st.sampled_from(REFS))
        if not path:
            return new
        parent = man
        try:
            for p in path[:-1]:
                parent = parent[p]
            parent[path[-1]] = new
        except (KeyError, IndexError, TypeError):
            pass
    return man


@st.composite
def trace_dirs(draw) -> tuple[bytes, dict[str, bytes]]:
    """(manifest bytes, array files): an edited manifest, raw bytes, or the seed with an array cut or altered."""
    arrays = {name: (_SEED / "arrays" / name).read_bytes() for name in ARRAY_FILES}
    kind = draw(st.sampled_from(["manifest", "manifest", "bytes", "array"]))
    if kind == "manifest":
        return json.dumps(draw(edited_manifests()), allow_nan=True).encode(), arrays
    if kind == "bytes":
        return draw(st.binary(max_size=300)), arrays
    name = draw(st.sampled_from(ARRAY_FILES))
    data = bytearray(arrays[name])
    header = data.index(b"\n") + 1  # header edits (shapes) are the size limits' business, not this fuzz
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    else:
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(header, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    arrays[name] = bytes(data)
    return (_SEED / "manifest.json").read_bytes(), arrays


def _load(case: tuple[bytes, dict[str, bytes]]) -> None:
    manifest, arrays = case
    d = Path(_root.name, str(next(_dirs)))
    (d / "arrays").mkdir(parents=True)
    (d / "manifest.json").write_bytes(manifest)
    for name, data in arrays.items():
        (d / "arrays" / name).write_bytes(data)
    load_trace(d)


test_trace_dir, test_trace_dir_long = fuzz_tests("trace_dir", trace_dirs(), _load)
