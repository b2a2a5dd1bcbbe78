"""``accel pe list`` and ``accel pe show SPEC``: the PE variants and their resolved attributes."""

from __future__ import annotations

import argparse
import inspect


def register(subparsers) -> None:
    """Add the ``accel pe`` command group (cheap: the variants load when a command runs)."""
    from accel.cliutil import add_command, add_group

    sub = add_group(subparsers, "pe", "golden bit-exact PE models: list the variants, show a spec")
    add_command(sub, "list", "list the PE variants with their default spec", _list)
    p = add_command(sub, "show", "show a PE spec's formats, widths, dequantization and activity per MAC", _show,
                    description="Show a PE spec written NAME[:key=value,...], e.g. mixpe_w4a8:group_size=128.")
    p.add_argument("spec", help="PE spec, e.g. mixpe_w4a8:group_size=32,weight_format=q4_1")


def _list(args: argparse.Namespace) -> list[dict]:
    from accel import pe

    rows = []
    for name in pe.names():
        spec = pe.get(name)
        rows.append({"name": name, "default": spec.to_string(), "dequant": spec.dequant,
                     "weight_scheme": spec.weight_scheme, "act_scheme": spec.act_scheme, "summary": spec.SUMMARY,
                     "parameters": {k: v for k, v in spec.params().items()}})
    if not args.json:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['dequant']:<10}  {r['summary']}")
            print(f"{'':<{width}}  parameters: " + ", ".join(f"{k}={v}" for k, v in r["parameters"].items()))
    return rows


def _show(args: argparse.Namespace) -> dict:
    from accel import pe
    from accel.pe.base import DEQUANT_MEANING, PESpec

    spec = pe.parse(args.spec)
    d = spec.to_dict()
    # a preset (e.g. fp16_dequant_first) shows its implementation's documentation after its own
    docs = [c.__doc__ for c in type(spec).__mro__ if issubclass(c, PESpec) and c.NAME and c.__doc__]
    d["doc"] = "\n\n".join(inspect.cleandoc(doc) for doc in docs)
    if not args.json:
        for k in ("spec", "summary", "weight_scheme", "act_scheme", "group_size", "weight_bits", "act_bits",
                  "weight_storage_bits", "act_storage_bits", "out_bits", "macs_per_pe_per_cycle", "dequant"):
            print(f"{k:<22} {d[k]}")
        print("dequant placements this variant implements (set with dequant=...):")
        for place in d["dequant_valid"]:
            print(f"  {'*' if place == spec.dequant else ' '} {place:<11} {DEQUANT_MEANING[place]}")
        k = spec.group_size or 1
        print(f"activity for one {k}-long dot product (m = n = 1, k = {k}):")
        for key, v in d["activity_per_mac_1x1x1"].items():
            print(f"  {key:<28} {v}")
        print()
        print(d["doc"])
    return d
