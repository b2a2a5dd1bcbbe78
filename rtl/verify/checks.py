"""Behavioural checks of the RTL against accel's golden models, written once, run at every level.

A check builds operand vectors, drives them through :func:`rtl.verify.bench.run_cycles` (Amaranth simulator,
Icarus or Verilator) and compares every output with the golden results bit for bit.  Vector sets:
exhaustive operand pairs, random groups, corner groups (extremes, zeros, overflow of narrow
accumulators, group boundaries).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rtl.config import golden_groups, has_act_sum, mac_config, operand_codes, operand_values

#: Operand pairs up to which a PE is checked exhaustively
EXHAUSTIVE_LIMIT = 2**16

DEFAULT_DOT_LENGTH = 16  # group length for PEs without a group size (int8_mac)


@dataclass
class CheckReport:
    """Outcome of one check: how many results were compared and how many differed."""

    what: str
    backend: str
    vectors: int
    results: int
    mismatches: int
    cycles: int
    seconds: float
    first_mismatch: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.results > 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


# ----- vectors (G groups of g operand pairs: qa, qw of shape (G, g))
def group_length(spec) -> int:
    return spec.group_size or DEFAULT_DOT_LENGTH


def exhaustive_pairs(spec) -> tuple[np.ndarray, np.ndarray]:
    """Every (activation, weight) operand pair (``operand_codes``), one pair per group."""
    ca, cw = operand_codes(spec)
    a, w = np.meshgrid(ca, cw, indexing="ij")
    return a.reshape(-1, 1), w.reshape(-1, 1)


def random_groups(spec, n_groups: int, seed: int = 0, g: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random operand codes in ``n_groups`` groups of the spec's group length."""
    rng = np.random.default_rng(seed)
    g = g or group_length(spec)
    ca, cw = operand_codes(spec)
    return rng.choice(ca, (n_groups, g)), rng.choice(cw, (n_groups, g))


def extreme_codes(spec, role: str) -> list[int]:
    """Codes of the most negative, largest, zero, smallest positive and smallest negative values."""
    codes = operand_codes(spec)[0 if role == "act" else 1]
    v = operand_values(spec, codes, role)
    picks = [np.argmin(v), np.argmax(v), np.flatnonzero(v == 0)[0]]
    pos, neg = np.flatnonzero(v > 0), np.flatnonzero(v < 0)
    picks += [pos[np.argmin(v[pos])]] if len(pos) else []
    picks += [neg[np.argmax(v[neg])]] if len(neg) else []
    return [int(codes[i]) for i in picks]


def corner_groups(spec, g: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every combination of constant extreme groups and an alternating min/max group, per operand."""
    g = g or group_length(spec)

    def rows(role):
        ex = extreme_codes(spec, role)
        return [np.full(g, c) for c in ex] + [np.where(np.arange(g) % 2 == 0, ex[0], ex[1])]

    a_rows, w_rows = rows("act"), rows("weight")
    qa = np.array([a for a in a_rows for _ in w_rows])
    qw = np.array([w for _ in a_rows for w in w_rows])
    return qa, qw


# ----- PE
def pe_cycles(qa: np.ndarray, qw: np.ndarray) -> list[dict]:
    """One beat per operand pair; ``first``/``last`` mark each group (row)."""
    G, g = qa.shape
    return [{"i": {"a": int(qa[j, k]), "w": int(qw[j, k]), "first": int(k == 0), "last": int(k == g - 1)}}
            for j in range(G) for k in range(g)]


def check_pe(spec, blocks: list[tuple[np.ndarray, np.ndarray]], *, backend: str = "amaranth", what: str = "pe",
             workdir=None, waves: bool = False) -> CheckReport:
    """Drive blocks of groups (qa, qw) through the spec's PE in one run; compare with ``golden_groups``."""
    from rtl.pe.mac import MacPE
    from rtl.verify.bench import run_cycles

    dut = MacPE(mac_config(spec))
    cycles, want, groups = [], [], []
    for qa, qw in blocks:
        gold = golden_groups(spec, qa, qw)
        cycles += pe_cycles(qa, qw)
        want += [{f: int(gold[f][j]) for f in gold} for j in range(len(qa))]
        groups += [(qa[j].tolist(), qw[j].tolist()) for j in range(len(qa))]
    res = run_cycles(dut, spec.name, cycles, ["o"], backend=backend, drain=4, workdir=workdir, waves=waves)
    got = [p for _, p in res["outputs"]["o"]]
    mismatches, first = 0, None
    for j in range(max(len(got), len(want))):
        w = want[j] if j < len(want) else None
        h = got[j] if j < len(got) else None
        if h != w:
            mismatches += 1
            if first is None:
                first = {"group": j, "operands": groups[j] if j < len(groups) else None, "want": w, "got": h}
    return CheckReport(what, backend, len(cycles), len(got), mismatches, res["cycles"], res["seconds"], first,
                       {"waves": res.get("waves")})


# ----- array
def array_cycles(tiles: list[tuple[np.ndarray, np.ndarray]]) -> tuple[list[dict], list[int]]:
    """Per tile: load the (R, C) weights (rows R-1..0), stream the (M, R) activations, then idle R + C
    cycles so the next load cannot disturb partial sums in flight.  Returns (cycles, tile start cycles)."""
    cycles: list[dict] = []
    starts = []
    for qa, qw in tiles:
        R, C = qw.shape
        cycles += [{"wl": [int(x) for x in qw[r]]} for r in reversed(range(R))]
        starts.append(len(cycles))
        cycles += [{"a": [int(x) for x in row]} for row in qa]
        cycles += [{} for _ in range(R + C)]
    return cycles, starts


def array_golden(spec, rows: int, qa: np.ndarray, qw: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Golden fold results: ``group_dot`` with group = the fold's K (= ``rows``) and the spec's accumulator
    (the core of the spec's ``gemm``; minifloat_mac: the Kulisch core), and the MixPE activation sums
    (``mixpe.group_sums``)."""
    from rtl.config import binding

    sums = binding(spec).fold_sums(spec, rows, qa, qw)
    if not has_act_sum(spec):
        return sums, None
    from accel.pe.mixpe import group_sums

    return sums, group_sums(qa, rows)[0]


def check_array(spec, rows: int, cols: int, tiles: list[tuple[np.ndarray, np.ndarray]], *,
                backend: str = "amaranth", what: str | None = None, workdir=None, waves: bool = False) -> CheckReport:
    """Weight-stationary folds ``qa`` (M, rows) x ``qw`` (rows, cols), one run, against :func:`array_golden`.

    ``extra["latency_cycles"]`` lists, per tile, the cycles from the one in which its first activation row
    is presented through, inclusive, the first cycle in which its last output is valid.
    """
    from rtl.array.ws_array import WSArray
    from rtl.verify.bench import run_cycles

    dut = WSArray(mac_config(spec), rows, cols, act_sum=has_act_sum(spec))
    tiles = [(np.asarray(a, dtype=np.int64), np.asarray(w, dtype=np.int64)) for a, w in tiles]
    want, owner = [], []
    for t, (qa, qw) in enumerate(tiles):
        y, s = array_golden(spec, rows, qa, qw)
        for i in range(len(qa)):
            want.append({"y": y[i].tolist(), **({"act_sum": int(s[i])} if s is not None else {})})
            owner.append(t)
    cycles, starts = array_cycles(tiles)
    res = run_cycles(dut, f"{spec.name}_array_{rows}x{cols}", cycles, ["o"], backend=backend,
                     drain=rows + cols + 2, workdir=workdir, waves=waves)
    got = res["outputs"]["o"]
    mismatches, first = 0, None
    for i in range(max(len(got), len(want))):
        w = want[i] if i < len(want) else None
        h = got[i][1] if i < len(got) else None
        if h != w:
            mismatches += 1
            if first is None:
                first = {"output_row": i, "want": w, "got": h}
    latencies = []
    for t, start in enumerate(starts):
        last = [c for (c, _), o in zip(got, owner, strict=False) if o == t]
        latencies.append(last[-1] - start + 2 if last else None)
    return CheckReport(what or f"array {rows}x{cols}", backend, sum(a.size for a, _ in tiles), len(got) * cols,
                       mismatches, res["cycles"], res["seconds"], first,
                       {"latency_cycles": latencies, "waves": res.get("waves")})


# ----- MixPE end to end: PE RTL group sums -> dequant unit RTL -> y, against spec.gemm
def compare_fp32(got, want) -> tuple[int, dict[str, Any] | None]:
    """Compare binary32 encodings bit for bit, any NaN equal to any NaN (:func:`rtl.arith.binary32.canonical_nan`):
    ``(mismatches, first)``; differing lengths count as ``max(len)`` mismatches."""
    from rtl.arith.binary32 import canonical_nan

    got, want = canonical_nan(np.asarray(got, dtype=np.int64)), canonical_nan(want)
    if got.shape != want.shape:
        return max(len(got), len(want)), {"want_count": len(want), "got_count": len(got)}
    bad = np.flatnonzero(got != want)
    first = None
    if len(bad):
        first = {"index": int(bad[0]), "want": hex(int(want[bad[0]])), "got": hex(int(got[bad[0]]))}
    return len(bad), first


def f32_bits(x) -> np.ndarray:
    """binary32 encodings (int64) of ``x`` rounded to float32 (numpy's RNE), the form every check compares."""
    return np.asarray(x, dtype=np.float64).astype(np.float32).view(np.uint32).astype(np.int64)


def check_mixpe_gemm(spec, A, W, *, backend: str = "amaranth", workdir=None,
                     dequant_latency: int | None = None, accumulate_cycles: int = 1) -> CheckReport:
    """``spec.gemm(A, W)`` computed by the RTL: the PE's group sums feed the dequant unit, per output.

    Compares the PE's P and S_a with ``spec.integer_parts`` and the dequant unit's FP32 ``y`` with the
    bits of ``spec.gemm``'s Y.  ``extra`` holds both mismatch counts.  The unit takes ``accumulate_cycles``
    outputs at a time, their group sums in turn (its interleaved accumulators).
    """
    from pathlib import Path

    from rtl.config import dequant_correction, dequant_unit
    from rtl.pe.mac import MacPE
    from rtl.verify.bench import run_cycles

    parts = spec.integer_parts(A, W)
    Y, _ = spec.gemm(A, W)
    qa, gw = parts["qa"], parts["weights"]
    M, K = qa.shape
    N, g = gw.codes.shape[1], spec.group_size
    J = K // g
    # 1. the PE RTL: one group per (m, n, j), in that order
    ga = np.repeat(qa.reshape(M, 1, J, g), N, axis=1).reshape(-1, g)
    gq = np.broadcast_to(gw.codes.T.reshape(1, N, J, g), (M, N, J, g)).reshape(-1, g)
    sub = None if workdir is None else Path(workdir) / "pe"
    pe = run_cycles(MacPE(mac_config(spec)), "mixpe_pe", pe_cycles(ga, gq), ["o"], backend=backend, drain=4,
                    workdir=sub)
    got = [p for _, p in pe["outputs"]["o"]]
    P_rtl = np.array([p["acc"] for p in got]).reshape(M, N, J)
    want_P = parts["P"].transpose(1, 2, 0)  # (J, M, N) -> (M, N, J)
    pe_bad = int((P_rtl != want_P).sum()) if P_rtl.shape == want_P.shape else M * N * J
    corr = dequant_correction(spec)
    if corr != "none":
        S_rtl = np.array([p["act_sum"] for p in got]).reshape(M, N, J)
        pe_bad += int((S_rtl != np.broadcast_to(parts["Sa"].T[:, None, :], (M, N, J))).sum())
    # 2. the dequant unit RTL, fed with the PE RTL's sums
    scale_bits, sa_bits = f32_bits(gw.scales), f32_bits(parts["sa"])
    def beat(m_, n, j):
        b = {"p": int(P_rtl[m_, n, j]), "scale": int(scale_bits[j, n]), "act_scale": int(sa_bits[m_]),
             "first": int(j == 0), "last": int(j == J - 1)}
        if corr != "none":
            b["act_sum"] = int(S_rtl[m_, n, j])
        if corr == "zero":
            b["zero"] = int(gw.zeros[j, n])
        if corr == "min":
            b["min"] = int(f32_bits(gw.mins)[j, n])
        return {"i": b}

    unit = dequant_unit(spec, dequant_latency, accumulate_cycles)
    outs = [(m_, n) for m_ in range(M) for n in range(N)]
    S = unit.interleave
    cycles = []
    for o0 in range(0, len(outs), S):
        for j in range(J):
            cycles += [beat(*outs[o], j) if o < len(outs) else {} for o in range(o0, o0 + S)]
    sub = None if workdir is None else Path(workdir) / "dequant"
    dq = run_cycles(unit, "mixpe_dequant", cycles, ["o"], backend=backend, drain=4 + unit.latency_cycles,
                    workdir=sub)
    y_bits = np.array([p["y"] for _, p in dq["outputs"]["o"]])
    want = f32_bits(Y).reshape(-1)
    y_bad = int((y_bits != want).sum()) if y_bits.shape == want.shape else len(want)
    first = None
    if y_bad and y_bits.shape == want.shape:
        i = int(np.flatnonzero(y_bits != want)[0])
        first = {"output": i, "want": hex(int(want[i])), "got": hex(int(y_bits[i]))}
    return CheckReport(f"mixpe gemm {M}x{K}x{N}", backend, int(qa.size * N), len(y_bits), pe_bad + y_bad,
                       pe["cycles"] + dq["cycles"], pe["seconds"] + dq["seconds"], first,
                       {"pe_mismatches": pe_bad, "y_mismatches": y_bad})


def mixpe_array_operands(spec, A, W) -> tuple[np.ndarray, np.ndarray | None, object]:
    """What the MixPE array takes for ``spec.gemm(A, W)``: activation codes (M, K) (INT8 codes; W4A16: FP16
    bit patterns), per-token scale fp32 bits (M,) (W4A16: None) and the group weights (codes, scales, ...)."""
    from rtl.config import dequant_grid

    if not dequant_grid(spec)[1]:  # no per-token activation scale: FP16 activations (W4A16)
        parts = spec.group_parts(A, W)
        return parts["a16"].view(np.uint16).astype(np.int64), None, parts["weights"]
    parts = spec.integer_parts(A, W)
    return parts["qa"], f32_bits(parts["sa"]), parts["weights"]


def check_mixpe_array(spec, rows: int, A, W, *, backend: str = "amaranth", workdir=None,
                      max_rows: int = 16, dequant=None) -> CheckReport:
    """``spec.gemm(A, W)`` on the MixPE array with column-edge dequant (N = the array's columns).

    Folds of ``rows`` along K in order (g / rows folds per group, or rows / g groups per fold), each: the
    fold's scales/zeros/mins, weight load, M activation rows, then the array drains.  Compares the bits of
    every output with ``spec.gemm``.  ``dequant``: the design's DequantSpec (None: the RTL default).
    ``extra["latency_cycles"]``: cycles from the one in which the last fold's first activation row is
    presented through, inclusive, the first cycle in which the last output is valid.
    """
    from accel.errors import ConfigError
    from rtl.config import dequant_correction, mixpe_array
    from rtl.verify.bench import run_cycles

    qa, sa, gw = mixpe_array_operands(spec, A, W)
    Y, _ = spec.gemm(A, W)
    M, K = qa.shape
    C = gw.codes.shape[1]
    if M > max_rows or K % rows:
        raise ConfigError(f"check_mixpe_array needs M <= {max_rows} rows and K a multiple of {rows}, got "
                          f"M={M!r} K={K!r}")
    dut = mixpe_array(spec, rows, C, max_rows, dequant=dequant)
    corr, g, T = dequant_correction(spec), spec.group_size, dut.taps
    cycles: list[dict] = []
    for k0 in range(0, K, rows):
        j0 = k0 // g  # the fold's first group
        js = [j0 + t for t in range(T)]
        q = {"scale": [int(x) for j in js for x in f32_bits(gw.scales[j])]}
        if corr == "zero":
            q["zero"] = [int(x) for j in js for x in gw.zeros[j]]
        if corr == "min":
            q["min"] = [int(x) for j in js for x in f32_bits(gw.mins[j])]
        load = [{"wl": [int(x) for x in gw.codes[k0 + r]]} for r in reversed(range(rows))]
        load[0]["q"] = q
        cycles += load
        start = len(cycles)
        flags = {"first_fold": int(k0 % g == 0), "last_fold": int((k0 + rows) % g == 0 or g < rows),
                 "first_group": int(j0 == 0), "last_group": int(k0 + rows == K)}
        for i in range(M):
            beat = {"x": [int(x) for x in qa[i, k0:k0 + rows]], "row0": int(i == 0), **flags}
            if sa is not None:
                beat["act_scale"] = int(sa[i])
            cycles.append({"a": beat})
        cycles += [{} for _ in range(rows + C + 1)]
    res = run_cycles(dut, f"mixpe_array_{rows}x{C}", cycles, ["o"], backend=backend,
                     drain=rows + C + 2 + dut.dequant.latency_cycles, workdir=workdir)
    outs = res["outputs"]["o"]
    got = np.array([p["y"] for _, p in outs])
    want = f32_bits(Y)
    bad = int((got != want).sum()) if got.shape == want.shape else want.size
    first = None
    if bad and got.shape == want.shape:
        i, c = (int(v[0]) for v in np.nonzero(got != want))
        first = {"row": i, "col": c, "want": hex(int(want[i, c])), "got": hex(int(got[i, c]))}
    elif bad:
        first = {"want_shape": want.shape, "got_shape": got.shape}
    latency = outs[-1][0] - start + 2 if outs else None
    return CheckReport(f"mixpe array {rows}x{C} gemm {M}x{K}x{C}", backend, int(qa.size * C), int(got.size), bad,
                       res["cycles"], res["seconds"], first, {"latency_cycles": [latency]})


# ----- the suite ``accel rtl verify`` runs
def mac_suite(target, *, backend: str, vectors: int, seed: int, waves: bool, workdir_for) -> list[CheckReport]:
    """PE: exhaustive pairs (when <= :data:`EXHAUSTIVE_LIMIT`), corner and random groups; array: a random tile and
    corner tiles; with ``target.dequant``: a random GEMM through ``spec.gemm`` on the MixPE array."""
    import math

    spec = target.pe
    if target.dequant:
        rng = np.random.default_rng(seed)
        K = 2 * max(spec.group_size, target.rows)  # whole groups and whole folds
        M = min(16, max(1, vectors // (K * target.cols)))
        A = rng.standard_normal((M, K)) * np.exp(rng.standard_normal((M, K)))
        W = rng.standard_normal((K, target.cols))
        return [check_mixpe_array(spec, target.rows, A, W, backend=backend, dequant=target.dequant_spec,
                                  workdir=workdir_for("mixpe_array"))]
    ca, cw = operand_codes(spec)
    if target.rows is None:
        reports = []
        if len(ca) * len(cw) <= EXHAUSTIVE_LIMIT:
            reports.append(check_pe(spec, [exhaustive_pairs(spec)], backend=backend, what="pe exhaustive pairs",
                                    workdir=workdir_for("exhaustive")))
        n_groups = max(1, math.ceil(vectors / group_length(spec)))
        reports.append(check_pe(spec, [corner_groups(spec), random_groups(spec, n_groups, seed)], backend=backend,
                                what="pe corner + random groups", workdir=workdir_for("random"), waves=waves))
        return reports
    R, C = target.rows, target.cols
    rng = np.random.default_rng(seed)
    M = max(1, math.ceil(vectors / R))
    tiles = [(rng.choice(ca, (M, R)), rng.choice(cw, (R, C)))]
    ea, ew = extreme_codes(spec, "act"), extreme_codes(spec, "weight")
    tiles += [(np.full((2, R), a), np.full((R, C), w)) for a in ea[:3] for w in ew[:3]]
    return [check_array(spec, R, C, tiles, backend=backend, what=f"array {R}x{C} random + corner tiles",
                        workdir=workdir_for("array"), waves=waves)]
