"""Behavioural checks of the ``block_mac`` and ``lmul`` PEs, at every level (rtl.verify.bench backends).

Vector sets: exhaustive element pairs (one-element blocks / dot products), random dots, constructed
corners (zero blocks, extreme shared exponents, subnormal elements, FP32 rounding ties, overflow to
infinity, Inf - Inf), and whole GEMMs through the spec's own quantizer compared with ``spec.gemm``.
Results are FP32 bits compared exactly; NaN compares as NaN (:func:`rtl.arith.binary32.canonical_nan`).
"""

from __future__ import annotations

import math

import numpy as np

from rtl.arith.binary32 import canonical_nan
from rtl.verify.block_golden import (
    block_config,
    block_gemm_operands,
    block_operand_codes,
    block_schemes,
    golden_block_dots,
    golden_lmul_dots,
    lmul_formats,
    lmul_gemm_operands,
    lmul_operand_codes,
)
from rtl.verify.checks import EXHAUSTIVE_LIMIT, CheckReport, compare_fp32, f32_bits


def _compare(what, backend, n_vectors, got, want, res, operands=None) -> CheckReport:
    n_bad, first = compare_fp32(got, want)
    if first is not None and operands and "index" in first:
        first["operands"] = operands(first["index"])
    return CheckReport(what, backend, n_vectors, len(got), n_bad, res["cycles"], res["seconds"], first,
                       {"waves": res.get("waves")})


# ----- block_mac vectors: (qa, qw) codes (G, J, L), (ea, ew) exponent bytes (G, J)
def block_cycles(qa, qw, ea, ew, interleave: int = 1) -> list[dict]:
    """One cycle per element, ``interleave`` dots at a time beat by beat in turn (the PE's accumulator slots)."""
    G, J, L = qa.shape

    def beat(g, j, k):
        return {"i": {"a": int(qa[g, j, k]), "w": int(qw[g, j, k]), "ea": int(ea[g, j]), "ew": int(ew[g, j]),
                      "first": int(k == 0), "last": int(k == L - 1), "start": int(j == 0), "end": int(j == J - 1)}}

    return [beat(g, j, k) if g < G else {} for g0 in range(0, G, interleave) for j in range(J) for k in range(L)
            for g in range(g0, g0 + interleave)]


def block_pe(spec):
    """The spec's :class:`rtl.pe.block_mac.BlockMacPE` (its ``pipeline_depth``)."""
    from rtl.config import binding

    return binding(spec).pe(spec)


def block_exhaustive_pairs(spec):
    """Every (activation, weight) element pair as a one-element block, exponent bytes cycling over 0..254."""
    ca, cw = block_operand_codes(spec)
    a, w = (x.reshape(-1, 1, 1) for x in np.meshgrid(ca, cw, indexing="ij"))
    i = np.arange(len(a)).reshape(-1, 1)
    return a, w, (i * 37 + 11) % 255, (i * 101 + 5) % 255


def block_random_dots(spec, n: int, blocks: int = 3, seed: int = 0):
    """Random codes in ``n`` dot products of ``blocks`` full blocks, exponent bytes around 127 (some extreme)."""
    rng = np.random.default_rng(seed)
    ca, cw = block_operand_codes(spec)
    L = spec.group_size
    e = lambda: np.where(rng.random((n, blocks)) < 0.1, rng.integers(0, 255, (n, blocks)),  # noqa: E731
                         rng.integers(110, 145, (n, blocks)))
    return rng.choice(ca, (n, blocks, L)), rng.choice(cw, (n, blocks, L)), e(), e()


def _code(fmt, value: float) -> int:
    code = int(fmt.encode(np.array([value]))[0])
    assert fmt.decode(np.array([code], dtype=fmt.code_dtype))[0] == value  # representable by construction
    return code


def block_corner_dots(spec):
    """Constructed corners, each a dot of 3 blocks: see the module docstring.  Exponent bytes are chosen so
    that block values land exactly on FP32 ties, subnormals and overflow where the spec's range allows."""
    sa, sw = block_schemes(spec)
    fa, fw = sa.element, sw.element
    L = spec.group_size
    off = block_config(spec).exp_offset
    z_a, z_w = _code(fa, 0.0), _code(fw, 0.0)
    one_a, one_w = _code(fa, fa.min_subnormal), _code(fw, fw.min_subnormal)  # grid value 1
    neg_one_a = _code(fa, -fa.min_subnormal)
    max_a, max_w, min_a = _code(fa, fa.max), _code(fw, fw.max), _code(fa, -fa.max)
    dots = []

    def block(n_ones=0, a_code=None, w_code=None, neg=False):
        a = np.full(L, z_a)
        w = np.full(L, z_w)
        if a_code is not None:
            a[:], w[:] = a_code, w_code
        a[:n_ones], w[:n_ones] = (neg_one_a if neg else one_a), one_w
        return a, w

    def exps(e):  # bytes with ea + ew + off = e, or None when out of 0..254 each
        s = e - off
        return (min(254, s), s - min(254, s)) if 0 <= s <= 508 else None

    def dot(blocks):  # blocks: [(block, (ea, ew))] padded to 3 with zero blocks
        if any(e is None for _, e in blocks):
            return
        blocks = blocks + [(block(), (127, 127))] * (3 - len(blocks))
        dots.append(blocks)

    dot([(block(1), exps(0)), (block(1), exps(-24))])  # 1 + 2^-24: tie, to even (down)
    dot([(block(1), exps(0)), (block(1), exps(-23)), (block(1), exps(-24))])  # 1 + 2^-23 + 2^-24: tie, up
    dot([(block(3), exps(-150))])  # 1.5 x 2^-149: subnormal conversion tie -> 2^-148
    dot([(block(1), exps(-150)), (block(1, neg=True), exps(-150))])  # +-2^-150 -> +0, -0; +0 + -0 = +0
    dot([(block(5), exps(-151)), (block(3, neg=True), exps(-150))])  # 1.25 and -1.5 x 2^-149
    dot([(block(a_code=max_a, w_code=max_w), (254, 254))])  # largest exponents: inf where it overflows
    dot([(block(a_code=max_a, w_code=max_w), (254, 254)), (block(a_code=min_a, w_code=max_w), (254, 254))])  # inf-inf
    dot([(block(a_code=max_a, w_code=max_w), (0, 0)), (block(a_code=min_a, w_code=max_w), (0, 1))])  # smallest
    dot([(block(a_code=max_a, w_code=max_w), (254, 0)), (block(), (0, 0)), (block(a_code=one_a, w_code=one_w),
                                                                            (0, 254))])  # zero block between
    dot([(block(), (0, 0)), (block(), (254, 254)), (block(), (127, 127))])  # all-zero blocks -> +0
    if hasattr(fa, "mbits"):  # every subnormal element code against the weight's max, moderate exponents
        codes = fa.codes()
        sub = codes[np.isin(fa.classify(codes), ("subnormal",))].astype(np.int64)
        a = np.resize(sub, L)
        dot([((a, np.full(L, max_w)), (127, 127)), ((a, np.full(L, one_w)), exps(-140) or (0, 0))])
    top_a, top_w = (int(math.floor(math.log2(f.max / f.min_subnormal))) for f in (fa, fw))
    if top_a + top_w >= 24:
        # D = 2^24 + 1 and 2^24 + 3 (25 significant bits: the conversion rounds a tie) from grid products
        ka = min(top_a, 12) if top_w >= 24 - min(top_a, 12) else 24 - top_w
        big_a, big_w = _code(fa, fa.min_subnormal * 2**ka), _code(fw, fw.min_subnormal * 2 ** (24 - ka))
        for n in (1, 3):
            a, w = block(n)
            a[-1], w[-1] = big_a, big_w
            dot([((a, w), exps(0))])
    qa = np.array([[b[0][0] for b in d] for d in dots])
    qw = np.array([[b[0][1] for b in d] for d in dots])
    ea = np.array([[b[1][0] for b in d] for d in dots])
    ew = np.array([[b[1][1] for b in d] for d in dots])
    return qa, qw, ea, ew


def check_block_pe(spec, dots: list, *, backend: str = "amaranth", what: str = "block_mac pe", workdir=None,
                   waves: bool = False) -> CheckReport:
    """Drive sets of dots (qa, qw, ea, ew) through the spec's PE in one run; compare with ``golden_block_dots``."""
    from rtl.verify.bench import run_cycles

    dut = block_pe(spec)
    cycles, want = [], []
    for qa, qw, ea, ew in dots:
        cycles += block_cycles(qa, qw, ea, ew, dut.interleave)
        want.append(f32_bits(golden_block_dots(spec, qa, qw, ea, ew)))
    res = run_cycles(dut, "block_mac", cycles, ["o"], backend=backend, drain=dut.latency_cycles + 2,
                     workdir=workdir, waves=waves)
    got = [p["y"] for _, p in res["outputs"]["o"]]
    return _compare(what, backend, len(cycles), got, np.concatenate(want), res)


def check_block_gemm(spec, A, W, *, backend: str = "amaranth", workdir=None) -> CheckReport:
    """``spec.gemm(A, W)`` by the PE RTL, one dot product per output (m, n), operands from the spec's quantizer."""
    qa, qw, ea, ew = block_gemm_operands(spec, A, W)
    M, K = qa.shape
    N, b = qw.shape[1], spec.group_size
    J = K // b
    ga = np.repeat(qa.reshape(M, 1, J, b), N, axis=1).reshape(M * N, J, b)
    gw = np.broadcast_to(qw.T.reshape(1, N, J, b), (M, N, J, b)).reshape(M * N, J, b)
    gea = np.repeat(ea.reshape(M, 1, J), N, axis=1).reshape(M * N, J)
    gew = np.broadcast_to(ew.T.reshape(1, N, J), (M, N, J)).reshape(M * N, J)
    from rtl.verify.bench import run_cycles

    Y, _ = spec.gemm(A, W)
    dut = block_pe(spec)
    res = run_cycles(dut, "block_mac", block_cycles(ga, gw, gea, gew, dut.interleave), ["o"],
                     backend=backend, drain=dut.latency_cycles + 2, workdir=workdir)
    got = [p["y"] for _, p in res["outputs"]["o"]]
    return _compare(f"block_mac gemm {M}x{K}x{N}", backend, M * N * K, got, f32_bits(Y).reshape(-1), res)


# ----- lmul vectors: codes (G, K)
def lmul_cycles(qa, qw, sa=None, sw=None, interleave: int = 1) -> list[dict]:
    """One cycle per element, ``interleave`` dots at a time beat by beat in turn (the PE's accumulator slots)."""
    G, K = qa.shape
    one = int(f32_bits(1.0))
    sa = np.full(G, one) if sa is None else sa
    sw = np.full(G, one) if sw is None else sw

    def beat(g, k):
        return {"i": {"a": int(qa[g, k]), "w": int(qw[g, k]), "sa": int(sa[g]), "sw": int(sw[g]),
                      "first": int(k == 0), "last": int(k == K - 1)}}

    return [beat(g, k) if g < G else {} for g0 in range(0, G, interleave) for k in range(K)
            for g in range(g0, g0 + interleave)]


def lmul_pe(spec):
    """The spec's :class:`rtl.pe.lmul.LmulPE` (its ``pipeline_depth``)."""
    from rtl.config import binding

    return binding(spec).pe(spec)


def lmul_exhaustive_pairs(spec):
    ca, cw = lmul_operand_codes(spec)
    a, w = np.meshgrid(ca, cw, indexing="ij")
    return a.reshape(-1, 1), w.reshape(-1, 1)


def lmul_random_dots(spec, n: int, k: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    ca, cw = lmul_operand_codes(spec)
    return rng.choice(ca, (n, k)), rng.choice(cw, (n, k))


def lmul_corner_dots(spec, k: int = 8):
    """Extremes (max, -max, smallest subnormal, zero, -0), every subnormal, cancellation to zero, and
    FP32 ties: 2^24 copies of a product cannot fit, so a large product followed by small ones."""
    fa, fw = lmul_formats(spec)
    ca, cw = lmul_operand_codes(spec)
    va, vw = fa.decode(ca.astype(fa.code_dtype)), fw.decode(cw.astype(fw.code_dtype))

    def pick(codes, values, v):
        return int(codes[np.flatnonzero(values == v)[0]])

    rows_a, rows_w = [], []
    ex_a = [pick(ca, va, x) for x in (fa.max, -fa.max, fa.min_subnormal, -fa.min_subnormal, 0.0)]
    ex_w = [pick(cw, vw, x) for x in (fw.max, -fw.max, fw.min_subnormal, 0.0)]
    for a in ex_a:
        for w in ex_w:
            rows_a.append(np.full(k, a))
            rows_w.append(np.full(k, w))
    rows_a.append(np.resize(ca[(va != 0) & (np.abs(va) < fa.min_normal)], k))  # subnormals x max
    rows_w.append(np.full(k, ex_w[0]))
    alt = np.where(np.arange(k) % 2 == 0, ex_a[0], ex_a[1])  # +max, -max, ...: cancels to +0 each pair
    rows_a.append(alt)
    rows_w.append(np.full(k, ex_w[0]))
    big = np.r_[ex_a[0], np.full(k - 1, ex_a[2])]  # max x max then tiny products: absorbed or rounded
    rows_a.append(big)
    rows_w.append(np.r_[ex_w[0], np.full(k - 1, ex_w[2])])
    return np.array(rows_a), np.array(rows_w)


def fp32_tie(s) -> np.ndarray:
    """Whether float64 values ``s`` lie exactly halfway between two neighbouring binary32 values."""
    s = np.asarray(s, dtype=np.float64)
    with np.errstate(over="ignore"):
        a = s.astype(np.float32)
    up = a.astype(np.float64) > s
    lo = np.where(up, np.nextafter(a, np.float32(-np.inf)), a).astype(np.float64)
    hi = np.where(up, a, np.nextafter(a, np.float32(np.inf))).astype(np.float64)
    return (a.astype(np.float64) != s) & (s - lo == hi - s)


def lmul_tie_dots(spec, n: int = 24, seed: int = 0):
    """Two-product dots whose FP32 sum p1 + p2 is an exact tie (found among all positive-code products by
    the golden ``lmul_core.lmul``), half of them negated: the accumulator's round-half-to-even.  None for
    formats too narrow for a tie (FP4, FP6: products span fewer than 24 binades)."""
    from accel.pe.lmul_core import lmul

    fa, fw = lmul_formats(spec)
    ca, cw = lmul_operand_codes(spec)
    va, vw = fa.decode(ca.astype(fa.code_dtype)), fw.decode(cw.astype(fw.code_dtype))
    ia, iw = np.flatnonzero(va > 0), np.flatnonzero(vw > 0)
    A, Wc = np.meshgrid(ia, iw, indexing="ij")
    A, Wc = A.ravel(), Wc.ravel()
    P = lmul(va[A], vw[Wc], spec.mbits, spec.realisation)
    rng = np.random.default_rng(seed)
    rows_a, rows_w = [], []
    for i in rng.permutation(len(P)):
        hit = np.flatnonzero(fp32_tie(P[i] + P))
        if len(hit):
            j = hit[rng.integers(len(hit))]
            if len(rows_a) % 2:  # negate both activations: the tie mirrored below zero
                rows_a.append([int(ca[np.flatnonzero(va == -va[A[x]])[0]]) for x in (i, j)])
            else:
                rows_a.append([int(ca[A[i]]), int(ca[A[j]])])
            rows_w.append([int(cw[Wc[i]]), int(cw[Wc[j]])])
            if len(rows_a) == n:
                break
    return np.array(rows_a, dtype=np.int64).reshape(-1, 2), np.array(rows_w, dtype=np.int64).reshape(-1, 2)


def check_lmul_pe(spec, dots: list, *, backend: str = "amaranth", what: str = "lmul pe", workdir=None,
                  waves: bool = False) -> CheckReport:
    """Drive sets of dots (qa, qw) through the spec's PE; compare ``acc`` with ``golden_lmul_dots`` (unit scales:
    ``y`` must then equal ``acc``, also checked)."""
    from rtl.verify.bench import run_cycles

    dut = lmul_pe(spec)
    cycles, want = [], []
    for qa, qw in dots:
        cycles += lmul_cycles(qa, qw, interleave=dut.interleave)
        want.append(f32_bits(golden_lmul_dots(spec, qa, qw)))
    res = run_cycles(dut, "lmul", cycles, ["o"], backend=backend, drain=dut.latency_cycles + 2, workdir=workdir,
                     waves=waves)
    out = [p for _, p in res["outputs"]["o"]]
    want = np.concatenate(want)
    got = [p["acc"] for p in out] + [p["y"] for p in out]
    return _compare(what, backend, len(cycles), got, np.r_[want, want], res)


def check_lmul_gemm(spec, A, W, *, backend: str = "amaranth", workdir=None) -> CheckReport:
    """``spec.gemm(A, W)`` by the PE RTL (one dot product per output, with its FP32 scales) vs its bits."""
    from rtl.verify.bench import run_cycles

    qa, qw, sa, sw = lmul_gemm_operands(spec, A, W)
    M, K = qa.shape
    N = qw.shape[1]
    ga = np.repeat(qa, N, axis=0)
    gw = np.tile(qw.T, (M, 1))
    Y, _ = spec.gemm(A, W)
    dut = lmul_pe(spec)
    cycles = lmul_cycles(ga, gw, np.repeat(f32_bits(sa), N), np.tile(f32_bits(sw), M), dut.interleave)
    res = run_cycles(dut, "lmul", cycles, ["o"], backend=backend, drain=dut.latency_cycles + 2, workdir=workdir)
    got = [p["y"] for _, p in res["outputs"]["o"]]
    return _compare(f"lmul gemm {M}x{K}x{N}", backend, M * N * K, got, f32_bits(Y).reshape(-1), res)


# ----- the suite ``accel rtl verify`` runs
def block_mac_suite(spec, *, backend: str, vectors: int, seed: int, workdir_for, waves: bool,
                    rows: int | None = None, cols: int | None = None) -> list[CheckReport]:
    """PE: exhaustive pairs (when <= 2^16), corners + random dots, and a random GEMM through ``spec.gemm``;
    array: a random GEMM of 2 blocks (N = cols) through ``spec.gemm``."""
    rng = np.random.default_rng(seed)
    reports = []
    if rows is not None:
        K = 2 * spec.group_size
        M = min(16, max(1, vectors // (K * cols)))
        A = rng.standard_normal((M, K)) * np.exp(2 * rng.standard_normal((M, K)))
        reports.append(check_block_array_gemm(spec, rows, A, rng.standard_normal((K, cols)), backend=backend,
                                              workdir=workdir_for("array"), waves=waves))
        return reports
    ca, cw = block_operand_codes(spec)
    if len(ca) * len(cw) <= EXHAUSTIVE_LIMIT:
        reports.append(check_block_pe(spec, [block_exhaustive_pairs(spec)], backend=backend,
                                      what="block_mac exhaustive pairs", workdir=workdir_for("exhaustive")))
    n = max(1, math.ceil(vectors / (3 * spec.group_size)))
    reports.append(check_block_pe(spec, [block_corner_dots(spec), block_random_dots(spec, n, seed=seed)],
                                  backend=backend, what="block_mac corner + random dots",
                                  workdir=workdir_for("random"), waves=waves))
    K = 2 * spec.group_size
    A = rng.standard_normal((2, K)) * np.exp(2 * rng.standard_normal((2, K)))
    reports.append(check_block_gemm(spec, A, rng.standard_normal((K, 3)), backend=backend,
                                    workdir=workdir_for("gemm")))
    return reports


def lmul_suite(spec, *, backend: str, vectors: int, seed: int, workdir_for, waves: bool,
               rows: int | None = None, cols: int | None = None) -> list[CheckReport]:
    """PE: exhaustive pairs (when <= 2^16), corners + ties + random dots, and a random GEMM through
    ``spec.gemm``; array: a random GEMM of K = 3 folds (N = cols) through ``spec.gemm``."""
    rng = np.random.default_rng(seed)
    reports = []
    if rows is not None:
        M = min(32, max(1, vectors // (3 * rows * cols)))
        A = rng.standard_normal((M, 3 * rows)) * np.exp(2 * rng.standard_normal((M, 3 * rows)))
        reports.append(check_lmul_array_gemm(spec, rows, cols, A, rng.standard_normal((3 * rows, cols)),
                                             backend=backend, workdir=workdir_for("array"), waves=waves))
        return reports
    ca, cw = lmul_operand_codes(spec)
    if len(ca) * len(cw) <= EXHAUSTIVE_LIMIT:
        reports.append(check_lmul_pe(spec, [lmul_exhaustive_pairs(spec)], backend=backend,
                                     what="lmul exhaustive pairs", workdir=workdir_for("exhaustive")))
    n = max(1, math.ceil(vectors / 16))
    reports.append(check_lmul_pe(spec, [lmul_corner_dots(spec), lmul_tie_dots(spec, seed=seed),
                                        lmul_random_dots(spec, n, seed=seed)],
                                 backend=backend, what="lmul corner + random dots", workdir=workdir_for("random"),
                                 waves=waves))
    A = rng.standard_normal((2, 64)) * np.exp(2 * rng.standard_normal((2, 64)))
    reports.append(check_lmul_gemm(spec, A, rng.standard_normal((64, 3)), backend=backend,
                                   workdir=workdir_for("gemm")))
    return reports


def check_lmul_array_gemm(spec, rows: int, cols: int, A, W, *, backend: str = "amaranth", workdir=None,
                          waves: bool = False) -> CheckReport:
    """``spec.gemm(A, W)`` on the R x C lmul array (N <= cols; K zero-padded to whole folds of ``rows``).

    Each fold adds onto the running FP32 sums fed in at the top (the golden k-order prefix over the previous
    folds, +0 first) and is compared with the golden prefix after it; the last fold's sums through the
    golden output stage fp32(acc * fp32(s_a s_w)) must equal ``spec.gemm``'s bits (``extra["y_mismatches"]``).
    ``extra["latency_cycles"]``: per fold, first activation row (inclusive) to last output (inclusive).
    """
    from rtl.config import binding
    from rtl.verify.bench import run_cycles

    qa, qw, sa, sw = lmul_gemm_operands(spec, A, W)
    M, K = qa.shape
    N = qw.shape[1]
    dut = binding(spec).array(spec, rows, cols)
    if N > cols:
        from accel.errors import ConfigError

        raise ConfigError(f"the lmul array check takes N <= cols = {cols}, got N = {N!r}")
    folds = -(-K // rows)
    qa = np.pad(qa, ((0, 0), (0, folds * rows - K)))  # code 0 is +0: a zero product leaves a sum unchanged
    qw = np.pad(qw, ((0, folds * rows - K), (0, cols - N)))
    cycles, starts, want = [], [], []
    prev = np.zeros(M * cols, dtype=np.int64)
    for f in range(folds):
        k0 = f * rows
        cycles += [{"wl": [int(x) for x in qw[k0 + r]]} for r in reversed(range(rows))]
        starts.append(len(cycles))
        cycles += [{"a": {"x": [int(x) for x in qa[i, k0:k0 + rows]],
                          "psum": [int(x) for x in prev[i * cols:(i + 1) * cols]]}} for i in range(M)]
        cycles += [{} for _ in range(max(rows + cols, dut.latency_cycles))]  # drained before the next load
        kend = k0 + rows
        prev = f32_bits(golden_lmul_dots(spec, np.repeat(qa[:, :kend], cols, axis=0), np.tile(qw[:kend].T, (M, 1))))
        want.append(prev)
    res = run_cycles(dut, f"lmul_array_{rows}x{cols}", cycles, ["o"],
                     backend=backend, drain=dut.latency_cycles + 2, workdir=workdir, waves=waves)
    got = res["outputs"]["o"]
    got_sums = np.array([y for _, p in got for y in p["y"]], dtype=np.int64)
    report = _compare(f"lmul array {rows}x{cols} gemm {M}x{K}x{N}", backend, M * K * N, got_sums,
                      np.concatenate(want), res)
    latencies = [got[(f + 1) * M - 1][0] - s + 2 if len(got) >= (f + 1) * M else None
                 for f, s in enumerate(starts)]
    acc = want[-1].reshape(M, cols)[:, :N].astype(np.uint32).view(np.float32)
    Y, _ = spec.gemm(A, W)
    with np.errstate(over="ignore", invalid="ignore"):
        y = acc * (sa.astype(np.float32)[:, None] * sw.astype(np.float32)[None, :])
    y_bad = int((canonical_nan(f32_bits(y)) != canonical_nan(f32_bits(Y))).sum())
    report.mismatches += y_bad
    report.extra.update({"latency_cycles": latencies, "y_mismatches": y_bad})
    return report


def check_block_array_gemm(spec, rows: int, A, W, *, backend: str = "amaranth", workdir=None, waves: bool = False,
                           max_rows: int = 16) -> CheckReport:
    """``spec.gemm(A, W)`` on the R x C block_mac array (C = N columns, M <= ``max_rows``), folds in block order.

    Per fold: R weight rows with the column exponents, then M activation rows with their block exponent and
    flags, then the array drains.  Every output's FP32 bits are compared with ``spec.gemm``'s.
    ``extra["latency_cycles"]``: the last fold's first activation row (inclusive) to its last output (inclusive).
    """
    from rtl.array.block_array import BlockMacArray, check_rows
    from rtl.verify.bench import run_cycles

    check_rows(spec.group_size, rows)
    qa, qw, ea, ew = block_gemm_operands(spec, A, W)
    M, K = qa.shape
    C, b = qw.shape[1], spec.group_size
    J, F = K // b, b // rows
    dut = BlockMacArray(block_config(spec), rows, C, max_rows=max_rows)
    cycles: list[dict] = []
    start = 0
    for j in range(J):
        for f in range(F):
            k0 = j * b + f * rows
            cycles += [{"wl": {"w": [int(x) for x in qw[k0 + r]], "ew": [int(x) for x in ew[j]]}}
                       for r in reversed(range(rows))]
            start = len(cycles)
            cycles += [{"a": {"x": [int(x) for x in qa[i, k0:k0 + rows]], "ea": int(ea[i, j]), "row0": int(i == 0),
                              "first_fold": int(f == 0), "last_fold": int(f == F - 1), "first_block": int(j == 0),
                              "last_block": int(j == J - 1)}} for i in range(M)]
            cycles += [{} for _ in range(rows + C + 1)]
    res = run_cycles(dut, f"block_mac_array_{rows}x{C}", cycles, ["o"], backend=backend, drain=rows + C + 2,
                     workdir=workdir, waves=waves)
    got = res["outputs"]["o"]
    Y, _ = spec.gemm(A, W)
    report = _compare(f"block_mac array {rows}x{C} gemm {M}x{K}x{C}", backend, M * K * C,
                      [y for _, p in got for y in p["y"]], f32_bits(Y).reshape(-1), res)
    report.extra["latency_cycles"] = got[-1][0] - start + 2 if got else None
    return report
