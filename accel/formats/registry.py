"""The one registry of format and scheme names that the CLI, YAML configs and tests enumerate."""

from __future__ import annotations

from collections.abc import Callable

from accel.errors import FormatError, short_repr

_REGISTRY: dict[str, object] = {}
#: Parsers for open-ended families (e.g. group schemes ``int4_g128``): name -> object, or None if the
#: name is not of the family.  They raise FormatError for names of their family with bad parameters.
_PARSERS: list[Callable[[str], object | None]] = []


def register(name: str, obj: object) -> object:
    if name in _REGISTRY:
        raise FormatError(f"format name {name!r} registered twice")
    _REGISTRY[name] = obj
    return obj


def register_parser(parser: Callable[[str], object | None]) -> None:
    _PARSERS.append(parser)


def names() -> list[str]:
    """Every registered name (open-ended families are represented by a typical set)."""
    return list(_REGISTRY)


def get(name: str) -> object:
    """The format or scheme called ``name``; FormatError listing valid choices if there is none."""
    if not isinstance(name, str):
        if hasattr(name, "name") and (hasattr(name, "encode") or hasattr(name, "quantize_blocks")):
            return name  # already a format object
        raise FormatError(f"format name must be a string, got {short_repr(name)}")
    if name in _REGISTRY:
        return _REGISTRY[name]
    for parser in _PARSERS:
        obj = parser(name)
        if obj is not None:
            return obj
    raise FormatError(f"unknown format {short_repr(name)}; valid choices: {', '.join(_REGISTRY)} "
                      f"(and group schemes ELEMENT_g<N>[_asym][_SCALE], ELEMENT_per_channel[_asym][_SCALE])")
