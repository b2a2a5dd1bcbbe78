"""Checks of the FP32-accumulating RTL (:mod:`rtl.pe.fp_mac`, :mod:`rtl.array.fp_array`) against accel's golden code.

Golden values come from the functions the specs' ``gemm`` calls: ``accel.pe.fp32.ordered_fp32_dot``
(k-order FP32 accumulation), ``MixPEW4A16.dequantized_weights`` (FP16 in-loop dequantization),
``accel.formats`` decode, and ``spec.gemm`` itself end to end.  Results are compared as binary32 bits;
the one normalisation is that every NaN counts as the same NaN (``rtl.arith.binary32.canonical_nan``).

Vectors are *beats*: a dict of equal-shape (G, g) integer arrays, G dot products of length g: ``a``
(activation codes), ``w`` (weight codes) and, for ``fp16_dequant_first``, each beat's FP16 ``scale`` bits
and ``zero`` or FP16 ``min`` bits.  Runs go through :func:`rtl.verify.bench.run_cycles`, so every check runs in
Amaranth's simulator, Icarus or Verilator; reports are :class:`rtl.verify.checks.CheckReport`.
"""

from __future__ import annotations

import numpy as np

from rtl.config import fp_mac_config
from rtl.verify.checks import CheckReport, compare_fp32, f32_bits

F16 = np.uint16


# ----- golden
def _minifloat_operands(spec) -> bool:
    """Whether the PE multiplies minifloat codes as they are (minifloat_mac), not FP16-dequantized weights."""
    return fp_mac_config(spec).dequant is None


def _formats(spec):
    from accel import formats
    from accel.pe.elementwise import element_format

    if _minifloat_operands(spec):
        return element_format(spec.act_format), element_format(spec.weight_format)
    return formats.get("fp16"), None


def act_values(spec, codes) -> np.ndarray:
    """float32 values of activation codes (accel.formats decode; exact)."""
    return _decode(_formats(spec)[0], codes)


def _decode(fmt, codes) -> np.ndarray:
    """float32 values of float codes; integer operands are their own values."""
    if not hasattr(fmt, "mbits"):
        return np.asarray(codes, dtype=np.float32)
    return fmt.decode(np.asarray(codes).astype(fmt.code_dtype)).astype(np.float32)


def weight_values(spec, beats: dict) -> np.ndarray:
    """float32 values of the weights the multiplier sees: decoded codes, or ``spec.dequantized_weights``."""
    if _minifloat_operands(spec):
        return _decode(_formats(spec)[1], beats["w"])
    from accel.pe.operands import GroupWeights

    shape = beats["w"].shape
    n = int(np.prod(shape))
    g = spec.group_size

    def col(x):  # one weight per column, its group's scale/zero/min in row 0
        return np.asarray(x).reshape(1, n)

    scales = col(beats["scale"]).astype(F16).view(np.float16).astype(np.float64)
    zeros = col(beats["zero"]).astype(np.int64) if "zero" in beats else None
    mins = col(beats["min"]).astype(F16).view(np.float16).astype(np.float64) if "min" in beats else None
    codes = np.repeat(col(beats["w"]).astype(np.int64), g, axis=0)
    gw = GroupWeights(codes, scales, zeros, mins, g, spec.weight_bits, fp_mac_config(spec).code_signed,
                      spec.weight_scheme)
    return spec.dequantized_weights(gw)[0].astype(np.float32).reshape(shape)


def golden_dots(va: np.ndarray, vw: np.ndarray, init: np.ndarray | None = None) -> np.ndarray:
    """binary32 bits of G k-order FP32 dot products (``ordered_fp32_dot``), optionally starting from ``init``.

    ``init`` enters as a leading product init * 1 (exact), which is what adding onto it means.
    """
    from accel.pe.fp32 import ordered_fp32_dot

    va, vw = np.asarray(va, np.float32), np.asarray(vw, np.float32)
    if init is not None:
        va = np.concatenate([np.asarray(init, np.float32)[:, None], va], axis=1)
        vw = np.concatenate([np.ones((len(vw), 1), np.float32), vw], axis=1)
    out = np.empty(len(va), dtype=np.float32)
    chunk = 256
    with np.errstate(all="ignore"):
        for s in range(0, len(va), chunk):
            d = ordered_fp32_dot(va[s:s + chunk], vw[s:s + chunk].T)  # (c, c): the diagonal are the dots
            out[s:s + chunk] = np.diagonal(d)
    return out.view(np.uint32).astype(np.int64)


def golden_beats(spec, beats: dict) -> np.ndarray:
    """binary32 bits of each row's FP32 dot product."""
    return golden_dots(act_values(spec, beats["a"]), weight_values(spec, beats))


# ----- vectors
def code_set(spec, role: str, finite: bool = True) -> np.ndarray:
    """Every code of an operand format (``finite``: without NaN/Inf, as the golden quantizers produce)."""
    fmt = _formats(spec)[0 if role == "act" else 1]
    if fmt is None:  # fp16_dequant_first weights: 4-bit codes
        signed = fp_mac_config(spec).code_signed
        return np.arange(-8, 8) if signed else np.arange(16)
    if not hasattr(fmt, "mbits"):
        return np.arange(fmt.min_int, fmt.max_int + 1)
    codes = fmt.codes().astype(np.int64)
    if finite:
        codes = codes[~np.isin(fmt.classify(codes.astype(fmt.code_dtype)), ("nan", "inf"))]
    return codes


def finite_fp16(n: int | None, rng, *, wide: bool = False) -> np.ndarray:
    """FP16 codes of finite values: all of them (``n`` None) or ``n`` random ones (``wide``: any binade)."""
    codes = np.arange(1 << 16)
    codes = codes[(codes & 0x7C00) != 0x7C00]
    if n is None:
        return codes
    if wide:
        return rng.choice(codes, n)
    return (np.float16(rng.standard_normal(n) * 0.05).view(F16)).astype(np.int64)


def _dequant_fields(spec, rng, shape, wide: bool) -> dict:
    """Random FP16 scales (and zeros or mins) for ``fp16_dequant_first`` beats."""
    out = {"scale": finite_fp16(int(np.prod(shape)), rng, wide=wide).reshape(shape)}
    if spec.weight_format == "uint4":
        out["zero"] = rng.integers(0, 16, shape)
    if spec.weight_format == "q4_1":
        out["min"] = finite_fp16(int(np.prod(shape)), rng, wide=wide).reshape(shape)
    return out


def random_beats(spec, n_groups: int, g: int, seed: int = 0, *, wide: bool = False) -> dict:
    """Random finite operands; ``wide`` draws codes uniformly (every binade), else realistic magnitudes."""
    rng = np.random.default_rng(seed)
    shape = (n_groups, g)
    if _minifloat_operands(spec):
        return {"a": rng.choice(code_set(spec, "act"), shape), "w": rng.choice(code_set(spec, "weight"), shape)}
    a = finite_fp16(n_groups * g, rng, wide=wide).reshape(shape)
    return {"a": a, "w": rng.choice(code_set(spec, "weight"), shape), **_dequant_fields(spec, rng, shape, wide)}


def exhaustive_beats(spec, seed: int = 0) -> dict:
    """Length-1 groups covering every operand code once or more.

    minifloat_mac: every (activation, weight) code pair, NaN/Inf codes included.  fp16_dequant_first:
    every FP16 activation code (NaN/Inf included) with random weights, then every finite FP16 scale
    with every 4-bit code (and zero) in turn and a unit activation, so the output is the dequantized weight.
    """
    if _minifloat_operands(spec):
        ca, cw = code_set(spec, "act", finite=False), code_set(spec, "weight", finite=False)
        a, w = np.meshgrid(ca, cw, indexing="ij")
        return {"a": a.reshape(-1, 1), "w": w.reshape(-1, 1)}
    rng = np.random.default_rng(seed)
    acts = np.arange(1 << 16)
    b1 = {"a": acts, "w": rng.choice(code_set(spec, "weight"), len(acts)),
          **_dequant_fields(spec, rng, (len(acts),), False)}
    scales = finite_fp16(None, rng)
    one = int(np.float16(1).view(F16))
    wc = code_set(spec, "weight")
    b2 = {"a": np.full(len(scales), one), "w": wc[np.arange(len(scales)) % 16], "scale": scales}
    if "zero" in b1:
        b2["zero"] = (np.arange(len(scales)) // 16) % 16
    if "min" in b1:
        b2["min"] = rng.permutation(scales)
    return {k: np.concatenate([b1[k], b2[k]]).reshape(-1, 1) for k in b1}


def concat(*sets: dict) -> dict:
    """Beat sets of the same group length, one after the other."""
    return {k: np.concatenate([s[k] for s in sets]) for k in sets[0]}


def tie_beats(spec, n: int = 64, seed: int = 0) -> dict:
    """Groups [p0, p1, p2] whose first accumulation ``p0 + p1`` is an exact FP32 tie (RNE decides).

    Found by search over random operands; a tie is confirmed in float64, where p0 + p1 is exact and
    equals the mean of its two float32 neighbours.
    """
    rng = np.random.default_rng(seed)
    base = random_beats(spec, 4096, 3, seed, wide=True)
    with np.errstate(all="ignore"):
        p = act_values(spec, base["a"]).astype(np.float64) * weight_values(spec, base).astype(np.float64)
    ok = np.flatnonzero(np.isfinite(p).all(axis=1) & (p[:, 0] != 0))
    picks = []
    for i in rng.permutation(ok)[:1024]:
        s = p[i, 0] + p[ok, 1]
        r = s.astype(np.float32)
        other = np.nextafter(r, np.where(s > r, np.float32(np.inf), np.float32(-np.inf)))
        tie = (r.astype(np.float64) != s) & (s == (r.astype(np.float64) + other.astype(np.float64)) / 2)
        hits = ok[np.flatnonzero(tie)]
        if len(hits):
            picks.append((i, hits[0]))
        if len(picks) >= n:
            break
    i0 = np.array([i for i, _ in picks], dtype=np.int64)
    i1 = np.array([j for _, j in picks], dtype=np.int64)
    return {k: np.stack([v[i0, 0], v[i1, 1], v[i0, 2]], axis=1) for k, v in base.items()}


def special_beats(spec) -> dict:
    """Corner groups: signed zeros, cancellation to +0, extremes, and (where the formats have them) NaN/Inf.

    Built from per-format extreme codes: +-max, +-min subnormal, +-min normal, +-0, NaN, +-Inf.
    """
    def picks(fmt):
        if not hasattr(fmt, "mbits"):  # integers: their values are the codes the RTL takes
            return np.array(sorted({fmt.min_int, fmt.max_int, 0, 1, -1 if fmt.signed else 2}))
        codes = fmt.codes().astype(np.int64)
        cls = fmt.classify(codes.astype(fmt.code_dtype))
        v = fmt.decode(codes.astype(fmt.code_dtype))
        out = []
        for sel in (v == np.nanmax(v[np.isfinite(v)]), v == np.nanmin(v[np.isfinite(v)])):
            out += list(codes[sel][:1])
        fin = np.isfinite(v) & (v != 0)
        for sgn in (1, -1):
            m = fin & (np.sign(v) == sgn)
            if m.any():
                out.append(codes[m][np.argmin(np.abs(v[m]))])
                norm = m & (cls == "normal") if "normal" in set(cls) else m
                if norm.any():
                    out.append(codes[norm][np.argmin(np.abs(v[norm]))])
        out += list(codes[(v == 0)][:2])
        for c in ("nan", "inf"):
            out += list(codes[cls == c][:2])
        return np.array(sorted(set(int(x) for x in out)))

    fa, fw = _formats(spec)
    ea = picks(fa)
    if _minifloat_operands(spec):
        ew = picks(fw)
        pa, pw = np.meshgrid(ea, ew, indexing="ij")
        pa, pw = pa.reshape(-1), pw.reshape(-1)
        # pairs of products: [x, y] for every ordered pair of extreme products (cancellation, signed zeros)
        i, j = np.meshgrid(np.arange(len(pa)), np.arange(len(pa)), indexing="ij")
        i, j = i.reshape(-1), j.reshape(-1)
        return {"a": np.stack([pa[i], pa[j]], 1), "w": np.stack([pw[i], pw[j]], 1)}
    # fp16_dequant_first: extreme activations x extreme dequantized weights (saturation, subnormal, -0)
    from accel import formats

    f16 = formats.get("fp16")
    fin16 = picks(f16)
    fin16 = fin16[np.isfinite(f16.decode(fin16.astype(F16)))]
    wc = code_set(spec, "weight")
    rows = []
    for s in fin16:
        for q in (wc.min(), wc.max(), 0 if 0 in wc else wc[0], 1):
            for z in ((0, 8, 15) if spec.weight_format == "uint4" else (None,)):
                for mn in (fin16 if spec.weight_format == "q4_1" else (None,)):
                    rows.append((s, q, z, mn))
    n = len(rows)
    one = int(np.float16(1).view(F16))
    out = {"a": np.full(n, one), "w": np.array([r[1] for r in rows]), "scale": np.array([r[0] for r in rows])}
    if spec.weight_format == "uint4":
        out["zero"] = np.array([r[2] for r in rows])
    if spec.weight_format == "q4_1":
        out["min"] = np.array([r[3] for r in rows])
    b1 = {k: v.reshape(-1, 1) for k, v in out.items()}
    # extreme activations (NaN, +-Inf, +-max, subnormals, +-0) against each dequantized weight, in pairs
    a = np.repeat(ea, n)[:, None]
    b2 = {k: np.tile(v, (len(ea), 1)) for k, v in b1.items()}
    b2["a"] = a
    pairs = {k: np.concatenate([b1[k], b2[k]]) for k in b1}
    G = len(pairs["a"]) // 2 * 2
    return {k: v[:G].reshape(-1, 2) for k, v in pairs.items()}


# ----- PE
def pe_cycles(beats: dict, interleave: int = 1) -> list[dict]:
    """One cycle per element; ``first``/``last`` mark each row (dot product).  ``interleave`` rows at a time
    go beat by beat in turn (the pipelined PE's accumulator slots; a missing row leaves its slot empty), so
    the results still leave in row order."""
    G, g = beats["a"].shape
    extra = [k for k in ("scale", "zero", "min") if k in beats]

    def beat(j, k):
        w = int(beats["w"][j, k])
        if extra:
            w = {"code": w, **{f: int(beats[f][j, k]) for f in extra}}
        return {"i": {"a": int(beats["a"][j, k]), "w": w, "first": int(k == 0), "last": int(k == g - 1)}}

    cycles = []
    for j0 in range(0, G, interleave):
        for k in range(g):
            cycles += [beat(j, k) if j < G else {} for j in range(j0, j0 + interleave)]
    return cycles


def fp_pe(spec):
    """The spec's :class:`rtl.pe.fp_mac.FpMacPE` (its ``pipeline_depth``)."""
    from rtl.config import binding

    return binding(spec).pe(spec)


def check_fp_pe(spec, sets: list[dict], *, backend: str = "amaranth", what: str = "fp pe", workdir=None,
                waves: bool = False) -> CheckReport:
    """Drive beat sets through the spec's :class:`rtl.pe.fp_mac.FpMacPE` in one run; compare with the golden."""
    from rtl.verify.bench import run_cycles

    dut = fp_pe(spec)
    cycles, want = [], []
    for b in sets:
        cycles += pe_cycles(b, dut.interleave)
        want.append(golden_beats(spec, b))
    want = np.concatenate(want)
    res = run_cycles(dut, spec.name, cycles, ["o"], backend=backend, drain=dut.latency_cycles + 3,
                     workdir=workdir, waves=waves)
    got = np.array([p["acc"] for _, p in res["outputs"]["o"]], dtype=np.int64)
    bad, first = compare_fp32(got, want)
    if first and "index" in first:
        j = first["index"]
        flat = [(s, i) for s in sets for i in range(len(s["a"]))]
        s, i = flat[j]
        first["operands"] = {k: v[i].tolist() for k, v in s.items()}
    return CheckReport(what, backend, len(cycles), len(got), bad, res["cycles"], res["seconds"], first,
                       {"waves": res.get("waves")})


# ----- array
def fp_array(spec, rows: int, cols: int):
    """The :class:`rtl.array.fp_array.FpWSArray` of an FP32-accumulating spec."""
    from rtl.config import binding

    return binding(spec).array(spec, rows, cols)


def gemm_operands(spec, A, W) -> dict:
    """The codes the array is fed for ``spec.gemm(A, W)``, from the spec's own quantizers.

    Returns ``a`` (M, K) activation codes, ``wl`` (K, N) weight-load beats (codes, or dicts with FP16
    scale and zero/min bits), ``va``/``vw`` their float32 values (golden), and ``out`` = (Y bits of
    ``spec.gemm``, a function mapping the accumulator bits to Y bits by the golden's output stage).
    """
    from accel.pe.fp32 import to_fp16_saturating

    Y, _ = spec.gemm(A, W)
    if _minifloat_operands(spec):
        from accel.pe.elementwise import scaled_operands
        from accel.pe.minifloat import _dequant_out

        ea, sa, ew, sw = scaled_operands(np.asarray(A, dtype=np.float64), W, spec.act_format, spec.weight_format)
        fa, fw = _formats(spec)
        a = _encode(fa, ea)
        w = _encode(fw, ew)
        wl = [[int(x) for x in row] for row in w]

        def output_stage(acc_bits):
            acc = np.asarray(acc_bits, dtype=np.int64).astype(np.uint32).view(np.float32)
            with np.errstate(all="ignore"):
                return f32_bits(_dequant_out(acc, sa, sw))

        return {"a": a, "wl": wl, "va": ea.astype(np.float32), "vw": ew.astype(np.float32), "Y": f32_bits(Y),
                "output_stage": output_stage, "act_scale": f32_bits(sa), "weight_scale": f32_bits(sw)}
    from accel.pe.operands import as_group_weights

    gw = as_group_weights(W, spec.weight_format, spec.group_size)
    a16 = to_fp16_saturating(A)
    s16 = gw.expand(to_fp16_saturating(gw.scales)).view(F16)
    fields = {"scale": s16}
    if gw.zeros is not None:
        fields["zero"] = gw.expand(gw.zeros)
    if gw.mins is not None:
        fields["min"] = gw.expand(to_fp16_saturating(gw.mins)).view(F16)
    K, N = gw.codes.shape
    wl = [[{"code": int(gw.codes[k, n]), **{f: int(v[k, n]) for f, v in fields.items()}} for n in range(N)]
          for k in range(K)]
    with np.errstate(all="ignore"):
        vw = spec.dequantized_weights(gw).astype(np.float32)
    return {"a": a16.view(F16).astype(np.int64), "wl": wl, "va": a16.astype(np.float32), "vw": vw,
            "Y": f32_bits(Y), "output_stage": lambda acc_bits: np.asarray(acc_bits, dtype=np.int64)}


def _encode(fmt, values: np.ndarray) -> np.ndarray:
    """Codes of element values (exactly representable) by lookup in the format's code table."""
    codes = fmt.codes()
    v = fmt.decode(codes)
    fin = np.isfinite(v)
    order = np.argsort(v[fin], kind="stable")
    table_v, table_c = v[fin][order], codes[fin][order].astype(np.int64)
    pos = np.clip(np.searchsorted(table_v, values), 0, len(table_v) - 1)
    out = table_c[pos]
    if not np.array_equal(table_v[pos], values):
        raise ValueError("values are not elements of the format")
    # keep the sign of negative zeros
    neg0 = (values == 0) & np.signbit(values)
    if neg0.any():
        out[neg0] = int(codes[(v == 0) & np.signbit(v)][0]) if ((v == 0) & np.signbit(v)).any() else out[neg0]
    return out


def check_fp_gemm(spec, A, W, *, backend: str = "amaranth", workdir=None) -> CheckReport:
    """``spec.gemm(A, W)`` through the PE: one dot product of K per output (m, n), in k order.

    The PE's FP32 sums must equal ``ordered_fp32_dot`` (``extra["acc_mismatches"]``) and, through the
    golden output stage, the bits of ``spec.gemm``'s Y (``extra["y_mismatches"]``).
    """
    from rtl.verify.bench import run_cycles

    ops = gemm_operands(spec, A, W)
    a = ops["a"]
    M, K = a.shape
    N = len(ops["wl"][0])
    dut = fp_pe(spec)
    S = dut.interleave
    dots = [(i, n) for i in range(M) for n in range(N)]
    cycles = []
    for j0 in range(0, len(dots), S):  # S dot products at a time, beat by beat in turn
        for k in range(K):
            for j in range(j0, j0 + S):
                if j < len(dots):
                    i, n = dots[j]
                    cycles.append({"i": {"a": int(a[i, k]), "w": ops["wl"][k][n], "first": int(k == 0),
                                         "last": int(k == K - 1)}})
                else:
                    cycles.append({})
    res = run_cycles(dut, spec.name, cycles, ["o"], backend=backend, drain=dut.latency_cycles + 3,
                     workdir=workdir)
    got = np.array([p["acc"] for _, p in res["outputs"]["o"]], dtype=np.int64)
    want = np.stack([golden_dots(ops["va"], np.broadcast_to(ops["vw"][:, n], ops["va"].shape)) for n in range(N)], 1)
    acc_bad, first = compare_fp32(got, want.reshape(-1))
    y_bad = M * N
    if got.size == M * N:
        y_bad, f2 = compare_fp32(np.asarray(ops["output_stage"](got.reshape(M, N))).reshape(-1), ops["Y"].reshape(-1))
        first = first or f2
    return CheckReport(f"fp pe gemm {M}x{K}x{N}", backend, len(cycles), len(got), acc_bad + y_bad, res["cycles"],
                       res["seconds"], first, {"acc_mismatches": acc_bad, "y_mismatches": y_bad})


def check_fp_array_gemm(spec, rows: int, cols: int, A, W, *, backend: str = "amaranth", workdir=None,
                        waves: bool = False) -> CheckReport:
    """``spec.gemm(A, W)`` on the R x C FP32 array: column tiles of ``cols``, folds of ``rows`` along K.

    Each fold adds onto the running sums entering at the top (the golden prefix sum after the previous
    folds, +0 for the first), so every fold is checked against ``ordered_fp32_dot`` over k < k0 + R and,
    by induction, chaining the array's own outputs gives the golden's k-order sum; the last fold's sums
    must equal ``spec.gemm``'s Y bits (``extra["y_mismatches"]``): minifloat_mac's output scaling is done
    by the array (``out_scale``) on the last fold, whose outputs are compared with Y directly.
    K and N are zero padded to whole folds (adding a zero product leaves an FP32 sum unchanged).
    ``extra["latency_cycles"]``: per fold, first activation row (inclusive) to last output (inclusive).
    """
    from rtl.verify.bench import run_cycles

    ops = gemm_operands(spec, A, W)
    a, va, vw = ops["a"], ops["va"], ops["vw"]
    dut = fp_array(spec, rows, cols)
    M, K = a.shape
    N = len(ops["wl"][0])
    zero_w = 0 if _minifloat_operands(spec) else {**ops["wl"][0][0], "code": 0}  # padding: zero activations
    zero_a = 0
    folds_k = -(-K // rows)
    tiles_n = -(-N // cols)
    cycles: list[dict] = []
    starts, want, fold_of = [], [], []
    acc_final = np.zeros((M, N), dtype=np.int64)
    for t in range(tiles_n):
        n0 = t * cols
        ncols = min(cols, N - n0)
        prev = np.zeros((M, ncols), dtype=np.int64)  # +0
        for f in range(folds_k):
            k0 = f * rows
            kk = min(rows, K - k0)
            load = []
            for r in reversed(range(rows)):
                load.append({"wl": [ops["wl"][k0 + r][n0 + c] if r < kk and c < ncols else zero_w
                                    for c in range(cols)]})
            last = f == folds_k - 1
            if dut.out_scale and f == 0:
                load[0]["ws"] = [int(ops["weight_scale"][n0 + c]) if c < ncols else 0 for c in range(cols)]
            cycles += load
            starts.append(len(cycles))
            for i in range(M):
                x = [int(a[i, k0 + r]) if r < kk else zero_a for r in range(rows)]
                ps = [int(prev[i, c]) if c < ncols else 0 for c in range(cols)]
                beat = {"x": x, "psum": ps}
                if dut.out_scale:
                    beat.update(act_scale=int(ops["act_scale"][i]), last=int(last))
                cycles.append({"a": beat})
            cycles += [{} for _ in range(max(rows + cols, dut.latency_cycles))]  # drained before the next load
            # golden prefix sums after this fold, per column of the tile
            sub_a, sub_w = va[:, :k0 + kk], vw[:k0 + kk, n0:n0 + ncols]
            cur = np.stack([golden_dots(sub_a, np.broadcast_to(sub_w[:, c], sub_a.shape)) for c in range(ncols)], 1)
            want.append(ops["Y"][:, n0:n0 + ncols] if last and dut.out_scale else cur)
            fold_of.append((t, f, ncols, last and dut.out_scale))
            prev = cur
        acc_final[:, n0:n0 + ncols] = prev
    res = run_cycles(dut, f"{spec.name}_fparray_{rows}x{cols}", cycles, ["o"],
                     backend=backend, drain=dut.latency_cycles + 2, workdir=workdir, waves=waves)
    got = res["outputs"]["o"]
    bad, first, results, y_fold_bad = 0, None, 0, 0
    latencies = []
    for idx, (w_fold, start) in enumerate(zip(want, starts, strict=True)):
        beats = got[idx * M:(idx + 1) * M]
        ncols = fold_of[idx][2]
        g_fold = np.array([p["y"][:ncols] for _, p in beats], dtype=np.int64).reshape(-1, ncols) if beats else \
            np.zeros((0, ncols), dtype=np.int64)
        n_bad, f1 = compare_fp32(g_fold.reshape(-1), w_fold.reshape(-1))
        results += g_fold.size
        if n_bad and first is None:
            first = {"fold": list(fold_of[idx][:2]), **(f1 or {})}
        bad += n_bad
        y_fold_bad += n_bad if fold_of[idx][3] else 0
        latencies.append(beats[-1][0] - start + 2 if beats else None)
    if dut.out_scale:  # the last folds gave Y (already counted in bad)
        y_bad, extra_bad = y_fold_bad, 0
    else:  # Y = the FP32 sums (fp16_dequant_first)
        y_bad, _ = compare_fp32(np.asarray(ops["output_stage"](acc_final)).reshape(-1), ops["Y"].reshape(-1))
        extra_bad = y_bad
    return CheckReport(f"fp array {rows}x{cols} gemm {M}x{K}x{N}", backend, int(M * K * N), results, bad + extra_bad,
                       res["cycles"], res["seconds"], first,
                       {"latency_cycles": latencies, "fold_mismatches": bad, "y_mismatches": y_bad,
                        "waves": res.get("waves")})


def verify_fp(target, *, backend: str = "icarus", vectors: int = 2000, seed: int = 0, waves: bool = False,
              workdir_for=lambda name: None) -> list[CheckReport]:
    """``accel rtl verify`` for an FP32-accumulating spec: PE exhaustive/corner/tie/random, or an array GEMM."""
    spec = target.pe
    reports = []
    if target.rows is None:
        ex = exhaustive_beats(spec, seed)
        if len(ex["a"]) <= (2**16 if backend == "amaranth" else 2**17):  # FP16 codes x scales: HDL simulators
            reports.append(check_fp_pe(spec, [ex], backend=backend, what="fp pe exhaustive operands",
                                       workdir=workdir_for("exhaustive")))
        g = 16
        rnd = [random_beats(spec, max(1, vectors // (2 * g)), g, seed),
               random_beats(spec, max(1, vectors // (2 * g)), g, seed + 1, wide=True)]
        reports.append(check_fp_pe(spec, [special_beats(spec), tie_beats(spec, seed=seed), *rnd], backend=backend,
                                   what="fp pe corner + tie + random", workdir=workdir_for("random"), waves=waves))
    else:
        R, C = target.rows, target.cols
        rng = np.random.default_rng(seed)
        M = max(1, min(64, vectors // (2 * R * C)))
        K = 2 * R + 1 if _minifloat_operands(spec) else 2 * spec.group_size
        A = rng.standard_normal((M, K)) * np.exp(rng.standard_normal((M, K)))
        W = rng.standard_normal((K, C + 1))
        reports.append(check_fp_array_gemm(spec, R, C, A, W, backend=backend, workdir=workdir_for("array"),
                                           waves=waves))
    return reports
