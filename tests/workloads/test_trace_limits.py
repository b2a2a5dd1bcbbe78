"""Trace loading checks every array's .npy header against the manifest and the memory limit before reading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accel import limits
from accel.errors import TraceError
from tests.bounded import raises_small
from workloads.trace import GemmOp, Trace, load_trace, save_trace

pytestmark = pytest.mark.unit


def _saved(tmp_path, a=None):
    a = np.ones((2, 3)) if a is None else a
    ops = [GemmOp(0, "attn_q", "prefill", a.shape[0], 4, a.shape[1], a=a, weight_ref="w0")]
    return save_trace(Trace("m", ops), tmp_path / "t")


def _rewrite_header(f, shape, dtype="<f8"):
    """Keep the data bytes of ``f``, write a header declaring ``shape``."""
    with open(f, "rb") as fh:
        np.lib.format.read_magic(fh)
        np.lib.format.read_array_header_1_0(fh)
        data = fh.read()
    with open(f, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": dtype, "fortran_order": False, "shape": shape})
        fh.write(data)


def _array_file(d):
    return d / json.loads((d / "manifest.json").read_text())["ops"][0]["a"]


def test_an_edited_header_shape_is_checked_before_reading(tmp_path):
    d = _saved(tmp_path)
    _rewrite_header(_array_file(d), (10 ** 6, 10 ** 6))
    raises_small(TraceError, r"^cannot read trace array '.*00000\.npy' \(corrupt or truncated\?\): its header declares "
                             r"shape \(1000000, 1000000\) of float64 \(8,000,000,000,000 bytes of data\), the file "
                             r"holds 48$", load_trace, d)
    _rewrite_header(_array_file(d), (3, 2))  # the right size, not the manifest's shape
    raises_small(TraceError, r"^trace op #0 \('attn_q'\) array 'a' has shape \(3, 2\); expected \(2, 3\)$",
                 load_trace, d)


def test_a_header_agreeing_with_an_edited_manifest_is_checked_against_the_file_size(tmp_path):
    d = _saved(tmp_path)
    man = json.loads((d / "manifest.json").read_text())
    man["ops"][0]["m"] = 10 ** 12
    (d / "manifest.json").write_text(json.dumps(man))
    raises_small(TraceError, r"^trace op #0 \('attn_q'\) array 'a' has shape \(2, 3\); expected \(1000000000000, 3\)$",
                 load_trace, d)
    _rewrite_header(_array_file(d), (10 ** 12, 3))
    raises_small(TraceError, r"^cannot read trace array '.*00000\.npy' \(corrupt or truncated\?\): its header declares "
                             r"shape \(1000000000000, 3\) of float64 \(24,000,000,000,000 bytes of data\), the file "
                             r"holds 48$", load_trace, d)
    assert load_trace(d, arrays=False).ops[0].m == 10 ** 12  # shapes only: the simulator's limits apply


def test_a_header_with_a_non_numeric_dtype_is_refused_before_reading(tmp_path):
    d = _saved(tmp_path)
    _rewrite_header(_array_file(d), (2, 3), dtype="|O")
    raises_small(TraceError, r"^trace array '.*00000\.npy' must hold numbers, got dtype object$", load_trace, d)


def test_arrays_beyond_the_memory_limit_are_refused_before_reading(tmp_path, monkeypatch):
    d = _saved(tmp_path, a=np.ones((1000, 1000)))
    monkeypatch.setenv(limits.MEMORY_ENV, "1M")
    raises_small(TraceError, r"^loading the 1 arrays of trace '.*' needs about 8 MB of memory, more than the limit of "
                             r"1\.05 MB \(ACCEL_MAX_MEMORY\); ask for less", load_trace, d, max_bytes=1 << 20)
    monkeypatch.delenv(limits.MEMORY_ENV)
    assert load_trace(d).ops[0].a.shape == (1000, 1000)
