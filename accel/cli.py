"""Command-line subcommands of the `accel` package (registered by the `accel` entry point, :mod:`cost_models.cli`).

``accel formats list`` and ``accel formats show NAME``.
"""

from __future__ import annotations

from accel.cliutil import add_command, add_group


def _formats_list(args):
    from accel.formats import get, names
    from accel.formats.describe import summary

    rows = [summary(get(n)) for n in names()]
    if not args.json:
        print(f"{'name':26} {'kind':8} {'bits':>6}  details")
        for r in rows:
            if "bits_per_element" in r:
                bits = f"{r['bits_per_element']:.4g}"
                detail = f"element {r['element']}, group {r['group_size'] or 'axis'}, scale {r['scale']}"
            else:
                bits = str(r["bits"])
                detail = f"max {r['max']:.6g}, min subnormal {r['min_subnormal']:.3g}"
                detail += "".join(f", {k}" for k in ("has_inf", "has_nan") if r[k])
            print(f"{r['name']:26} {r['kind']:8} {bits:>6}  {detail}")
        print(f"{len(rows)} names; group schemes also parse ELEMENT_g<N>[_asym][_SCALE] and "
              f"ELEMENT_per_channel[_asym][_SCALE]")
    return rows


def _formats_show(args):
    from accel.formats import get
    from accel.formats.describe import MAX_TABLE_BITS, element_of, summary

    obj = get(args.name)
    out = summary(obj)
    element = element_of(obj)
    table = element.table() if element.bits <= MAX_TABLE_BITS else None
    out["codes"] = table
    if not args.json:
        for k, v in out.items():
            if k != "codes":
                print(f"{k:17} {v}")
        if table is None:
            print(f"codes             not listed ({element.bits}-bit element: 2**{element.bits} codes)")
        else:
            print(f"\ncodes of {element.name}:")
            print(f"{'code':>6} {'bits':>{element.bits}} {'value':>16}  class")
            for row in table:
                print(f"{row['hex']:>6} {row['bits']:>{element.bits}} {row['value']:>16.10g}  {row['class']}")
    return out


def register(subparsers) -> None:
    """Add this package's subcommands."""
    formats = add_group(subparsers, "formats", "number formats and quantization schemes")
    add_command(formats, "list", "list every registered format and scheme", _formats_list)
    show = add_command(formats, "show", "show a format's parameters and every code with its value and class",
                       _formats_show)
    show.add_argument("name", help="format or scheme name, e.g. float8_e4m3fn, int4, mxfp4, int4_g128")

    from accel.pe.cli import register as register_pe

    register_pe(subparsers)
