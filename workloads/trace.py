"""Trace types: the GEMMs of a model run, in order, as the simulator and cost models consume them.

The workloads package owns capture, save and load; ``sim`` and ``cost_models`` read these types.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accel import limits
from accel.errors import AccelError, TraceError, short_repr

PHASES = ("prefill", "decode")
#: Ops whose second operand is an activation (attention), not a model weight; per-head ops add "[hN]".
ACTIVATION_OPS = ("attn_qk", "attn_pv")


@dataclass(frozen=True)
class GemmOp:
    """One matrix product Y[M,N] = A[M,K] @ W[K,N].

    ``a`` holds the activation operand as computed (None in shape-only traces); ``w`` holds the second
    operand when it is itself an activation (attention Q.K^T, P.V) and None for model weights, which
    are referenced by ``weight_ref`` (tensor name in the model file) instead of copied.
    """

    layer: int  # block index; -1 before the first block (ViT patch embedding), n_layers for the head
    name: str  # e.g. "attn_q", "ffn_up", "attn_qk[h3]", "lm_head"
    phase: str  # "prefill" | "decode"
    m: int
    n: int
    k: int
    a_format: str = "fp32"
    w_format: str = "fp32"
    weight_ref: str | None = None
    a: np.ndarray | None = field(default=None, repr=False, compare=False)
    w: np.ndarray | None = field(default=None, repr=False, compare=False)
    count: int = 1  # identical ops folded into one record (shape-only traces: heads, batch)

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.count

    @property
    def activation_operand(self) -> bool:
        """True when W is an activation (attention), also in shape-only traces that carry no tensors."""
        return self.weight_ref is None and (self.w is not None or self.name.split("[")[0] in ACTIVATION_OPS)


@dataclass
class Trace:
    """An ordered list of GEMM ops plus metadata (model, tokens, phase, settings)."""

    model: str
    ops: list[GemmOp]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)


# ---------------------------------------------------------------------------------------------- save / load
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
_OP_FIELDS = ("layer", "name", "phase", "m", "n", "k", "a_format", "w_format", "weight_ref", "count")
#: Operand formats that are not accel.formats schemes: unquantized float64 (the reference forward).
REFERENCE_FORMATS = ("fp64",)
MAX_MODEL_NAME = 200


def _format_problem(name: Any) -> str | None:
    """Why ``name`` is not an operand format a trace may record (an accel.formats name or fp64), or None."""
    if name in REFERENCE_FORMATS:
        return None
    from accel import formats

    try:
        formats.get(name)
    except AccelError as exc:
        return str(exc)
    return None


def save_trace(trace: Trace, directory: str | Path) -> Path:
    """Write ``trace`` as ``directory/manifest.json`` plus one ``arrays/NNNNN.npy`` per distinct tensor.

    An array object used by several ops (Q, K and V share their input) is written once.
    """
    d = Path(directory)
    (d / "arrays").mkdir(parents=True, exist_ok=True)
    files: dict[int, str] = {}
    ops = []
    for op in trace.ops:
        rec: dict[str, Any] = {f: getattr(op, f) for f in _OP_FIELDS}
        for attr in ("a", "w"):
            arr = getattr(op, attr)
            if arr is None:
                rec[attr] = None
                continue
            if id(arr) not in files:
                files[id(arr)] = f"arrays/{len(files):05d}.npy"
                np.save(d / files[id(arr)], np.asarray(arr), allow_pickle=False)
            rec[attr] = files[id(arr)]
        ops.append(rec)
    manifest = {"schema_version": SCHEMA_VERSION, "model": trace.model, "meta": trace.meta, "ops": ops}
    (d / MANIFEST).write_text(json.dumps(manifest, indent=1, default=_jsonable))
    return d


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"trace metadata value {o!r} is not JSON-serialisable")


def load_trace(directory: str | Path, *, arrays: bool = True) -> Trace:
    """Read a trace directory; ``arrays=False`` skips the tensors (shapes only).

    A missing or malformed manifest, a newer schema version or a missing array file raise TraceError.
    """
    d = Path(directory)
    path = d / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise TraceError(f"trace directory {str(d)!r} has no {MANIFEST}") from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON, UTF-8 or over-long integers
        raise TraceError(f"cannot read trace manifest {str(path)!r}: {exc}") from None
    if not isinstance(manifest, dict):
        raise TraceError(f"trace manifest {str(path)!r} must be a JSON object, got {type(manifest).__name__}")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TraceError(f"trace manifest {str(path)!r} has invalid schema_version {version!r}; "
                         f"expected an integer 1..{SCHEMA_VERSION}")
    if version > SCHEMA_VERSION:
        raise TraceError(f"trace {str(d)!r} has schema_version {version!r}, newer than this toolkit reads "
                         f"(1..{SCHEMA_VERSION}); upgrade accel")
    missing = [k for k in ("model", "ops") if k not in manifest]
    if missing:
        raise TraceError(f"trace manifest {str(path)!r} lacks keys {missing!r}")
    if not isinstance(manifest["ops"], list):
        raise TraceError(f"trace manifest {str(path)!r} key 'ops' must be a list, got {type(manifest['ops']).__name__}")
    model = manifest["model"]
    if not (isinstance(model, str) and model.strip() and model.isprintable() and len(model) <= MAX_MODEL_NAME):
        raise TraceError(f"trace manifest {str(path)!r} key 'model' must name the model (a printable string of 1.."
                         f"{MAX_MODEL_NAME} characters), got {short_repr(model)}")
    checked: set[str] = set()  # operand formats already found valid
    headers: dict[str, tuple[Path, tuple[int, ...], int]] = {}  # array reference -> (file, shape, bytes)
    records = []
    for i, rec in enumerate(manifest["ops"]):
        try:
            fields = {f: rec[f] for f in _OP_FIELDS}
        except (KeyError, TypeError) as exc:
            raise TraceError(f"trace op #{i} in {str(path)!r} is malformed (missing {exc})") from None
        for f in ("a_format", "w_format"):
            v = fields[f]
            if not isinstance(v, str) or v not in checked:
                why = _format_problem(v)
                if why is not None:
                    raise TraceError(f"trace op #{i} in {str(path)!r}: {f}: {why}")
                checked.add(v)
        if fields["phase"] not in PHASES:
            raise TraceError(f"trace op #{i} has phase {fields['phase']!r}; expected one of {', '.join(PHASES)}")
        for f, low in (("layer", -1), ("m", 1), ("n", 1), ("k", 1), ("count", 1)):
            v = fields[f]
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise TraceError(f"trace op #{i} ({fields['name']!r}) {f} must be an integer >= {low}, got {v!r}")
        refs: dict[str, str] = {}
        for attr, shape in (("a", (fields["m"], fields["k"])), ("w", (fields["k"], fields["n"]))):
            ref = rec.get(attr)
            if ref is None or not arrays:
                continue
            # headers only: every shape and size is checked before any array is read
            if not isinstance(ref, str) or ref not in headers:
                headers[ref] = _array_header(d, ref, f"op #{i} ({fields['name']!r}, layer {fields['layer']})")
            if headers[ref][1] != shape:
                raise TraceError(f"trace op #{i} ({fields['name']!r}) array {attr!r} has shape {headers[ref][1]!r}; "
                                 f"expected {shape!r}")
            refs[attr] = ref
        records.append((fields, refs))
    if headers:
        limits.check(limits.Estimate(f"loading the {len(headers)} arrays of trace {str(d)!r}",
                                     float(sum(h[2] for h in headers.values()))), error=TraceError)
    cache = {ref: _load_array(*h) for ref, h in headers.items()}
    ops = [GemmOp(**fields, a=cache[refs["a"]] if "a" in refs else None, w=cache[refs["w"]] if "w" in refs else None)
           for fields, refs in records]
    return Trace(model=manifest["model"], ops=ops, meta=manifest.get("meta", {}))


def _array_header(d: Path, ref: Any, where: str) -> tuple[Path, tuple[int, ...], int]:
    """(file, shape, data bytes) of one numeric array file of trace ``d``, from its ``.npy`` header alone.

    The reference must stay inside ``d/arrays``; the file must be as long as its header says.
    """
    if not isinstance(ref, str) or not ref.startswith("arrays/") or "\x00" in ref:
        raise TraceError(f"trace {str(d)!r} {where} has array reference {short_repr(ref)}; "
                         "expected 'arrays/<file>.npy'")
    f = d / ref
    if f.resolve().parent != (d / "arrays").resolve():
        raise TraceError(f"trace {str(d)!r} {where} has array reference {short_repr(ref)} "
                         "outside its arrays/ directory")
    if not os.path.isfile(f):  # False, not OSError, for names the file system refuses (too long)
        raise TraceError(f"trace {str(d)!r} {where} refers to missing array file {short_repr(ref)}")
    fmt = np.lib.format
    try:
        with open(f, "rb") as fh:
            version = fmt.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f".npy format version {version!r} (expected 1.0 or 2.0)")
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read(fh)
            offset = fh.tell()
    except (OSError, ValueError, EOFError) as exc:
        raise TraceError(f"cannot read trace array {str(f)!r} (corrupt or truncated?): {exc}") from None
    if dtype.kind not in "biuf":
        raise TraceError(f"trace array {str(f)!r} must hold numbers, got dtype {dtype!s}")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    size = f.stat().st_size
    if size != offset + nbytes:
        raise TraceError(f"cannot read trace array {str(f)!r} (corrupt or truncated?): its header declares shape "
                         f"{shape!r} of {dtype!s} ({nbytes:,} bytes of data), the file holds {size - offset:,}")
    return f, tuple(shape), nbytes


def _load_array(f: Path, shape: tuple[int, ...], nbytes: int) -> np.ndarray:
    """The array whose header :func:`_array_header` checked."""
    try:
        arr = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise TraceError(f"cannot read trace array {str(f)!r} (corrupt or truncated?): {exc}") from None
    if arr.shape != shape:  # the file changed since its header was read
        raise TraceError(f"trace array {str(f)!r} changed while being read: shape {arr.shape!r}, expected {shape!r}")
    return arr
