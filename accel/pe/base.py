"""PE spec base class, the variant registry and the one parser for ``NAME[:key=value,...]`` / YAML.

A PE spec is a frozen dataclass: its fields are the variant's parameters (validated on construction,
every problem reported at once); derived attributes (``weight_bits``, ``out_bits`` ...) are properties.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from accel.activity import Activity
from accel.errors import ConfigError, list_problems, short_repr
from accel.pe import bounds

DEQUANT_PLACEMENTS = ("in_loop", "per_group", "per_output")
#: what each placement means (``accel pe show`` prints the valid ones of a variant)
DEQUANT_MEANING = {
    "in_loop": "each weight dequantized inside the main loop, before its multiply (once per MAC)",
    "per_group": "integer/exact group sums first, one dequantization per output and group of g along K",
    "per_output": "one dequantization per output after the whole K sum (needs scales constant along K)",
}

_REGISTRY: dict[str, type[PESpec]] = {}


def register(cls: type[PESpec]) -> type[PESpec]:
    """Class decorator: add a PE variant to the registry under ``cls.NAME``."""
    _REGISTRY[cls.NAME] = cls
    return cls


def names() -> list[str]:
    """Every registered PE variant name, in priority order."""
    return sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].PRIORITY, n))


def variant(name: str) -> type[PESpec]:
    """The spec class of a variant name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown PE variant {short_repr(name)}; valid variants: {', '.join(names())}") from None


def _fields(spec_or_cls) -> list[dataclasses.Field]:
    """A spec's fields, the variant's own first, then the ones every spec has (keyword-only)."""
    return sorted(dataclasses.fields(spec_or_cls), key=lambda f: f.kw_only is True)


def get(name: str, **params: Any) -> PESpec:
    """Build a spec, e.g. ``get("mixpe_w4a8", group_size=32)``."""
    cls = variant(name)
    return cls.from_params(params, where=name)


@dataclass(frozen=True)
class PESpec:
    """Base of every PE variant spec (see docs/contracts.md for the attributes others rely on)."""

    NAME: ClassVar[str] = ""
    SUMMARY: ClassVar[str] = ""
    PRIORITY: ClassVar[int] = 100  # order of names(): the variants others depend on first
    #: field name -> tuple of valid values, for fields with a fixed set of choices
    CHOICES: ClassVar[dict[str, tuple]] = {}
    #: the largest ``pipeline_depth``
    MAX_PIPELINE_DEPTH: ClassVar[int] = 8

    #: pipeline registers in the PE's multiply and in its accumulate each (hardware timing only: every result
    #: is the same at any depth).  The simulator counts them (``sim.array_timing``); the RTL places them.
    pipeline_depth: int = dataclasses.field(default=0, kw_only=True)

    # ----- construction and validation
    def __post_init__(self) -> None:
        problems = self._type_problems()
        if not problems:
            problems = self.problems()
        if problems:
            raise ConfigError(f"invalid PE spec {self.NAME!r}: " + "; ".join(problems))

    def _type_problems(self) -> list[str]:
        p = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            t = str(f.type)
            ok = ((t.startswith("int") and isinstance(v, int) and not isinstance(v, bool))
                  or (t.startswith("str") and isinstance(v, str))
                  or (t.startswith("bool") and isinstance(v, bool))
                  or ("None" in t and v is None))
            if not ok:
                p.append(f"{f.name} must be of type {t}, got {short_repr(v)}")
            elif f.name in self.CHOICES and v not in self.CHOICES[f.name]:
                p.append(f"{f.name} must be one of {', '.join(map(str, self.CHOICES[f.name]))}, got {short_repr(v)}")
        d = self.pipeline_depth
        if isinstance(d, int) and not 0 <= d <= self.MAX_PIPELINE_DEPTH:
            p.append(f"pipeline_depth must be in 0..{self.MAX_PIPELINE_DEPTH}, got {short_repr(d)}")
        return p

    def problems(self) -> list[str]:
        """Variant-specific validation (types and choices are already checked)."""
        return []

    #: the ``dequant`` placements a variant implements, with why the others are not offered
    DEQUANT_VALID: ClassVar[tuple[str, ...]] = ()
    DEQUANT_WHY_NOT: ClassVar[str] = ""

    def dequant_problems(self) -> list[str]:
        """The ``dequant`` field must be one of ``DEQUANT_VALID`` (message lists them and says why not others)."""
        if self.dequant in self.DEQUANT_VALID:
            return []
        return [f"dequant must be one of {', '.join(self.DEQUANT_VALID)} for {self.NAME!r}, "
                f"got {short_repr(self.dequant)}"
                + (f" ({self.DEQUANT_WHY_NOT})" if self.DEQUANT_WHY_NOT else "")]

    @classmethod
    def from_params(cls, params: Mapping[str, Any], where: str = "") -> PESpec:
        """Build from a mapping of (possibly string) values, reporting every problem at once."""
        fields = {f.name: f for f in _fields(cls)}
        problems = []
        kwargs = {}
        for k, v in params.items():
            if k not in fields:
                problems.append(f"unknown parameter {short_repr(k)} for PE variant {cls.NAME!r}; "
                                f"valid parameters: {', '.join(fields) or '(none)'}")
                continue
            try:
                kwargs[k] = _coerce(v, str(fields[k].type), k)
            except ConfigError as exc:
                problems.append(str(exc))
        if not problems:
            return cls(**kwargs)
        try:  # report the valid parameters' problems too, all at once
            cls(**kwargs)
        except ConfigError as exc:
            problems.append(str(exc).split(": ", 1)[1])
        raise ConfigError(f"invalid PE spec {short_repr(where or cls.NAME)}: " + list_problems(problems))

    # ----- naming
    @property
    def name(self) -> str:
        return self.NAME

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in _fields(self)}

    def to_string(self) -> str:
        """``NAME[:key=value,...]`` listing the parameters that differ from the defaults."""
        changed = [f"{f.name}={_fmt(getattr(self, f.name))}" for f in _fields(self)
                   if getattr(self, f.name) != f.default]
        return self.NAME + (":" + ",".join(changed) if changed else "")

    def __str__(self) -> str:
        return self.to_string()

    def to_dict(self) -> dict[str, Any]:
        """Parameters plus every contract attribute (for ``accel pe show --json``)."""
        return {"name": self.name, "spec": self.to_string(), "params": self.params(),
                "weight_scheme": self.weight_scheme, "act_scheme": self.act_scheme,
                "group_size": self.group_size, "weight_bits": self.weight_bits, "act_bits": self.act_bits,
                "weight_storage_bits": self.weight_storage_bits, "act_storage_bits": self.act_storage_bits,
                "out_bits": self.out_bits, "macs_per_pe_per_cycle": self.macs_per_pe_per_cycle,
                "dequant": self.dequant, "dequant_valid": list(self.DEQUANT_VALID or (self.dequant,)),
                "summary": self.SUMMARY,
                "activity_per_mac_1x1x1": self.activity_for(1, 1, self.group_size or 1).to_dict()}

    # ----- contract attributes (docs/contracts.md); variants define the rest as fields or properties
    out_bits = 32
    macs_per_pe_per_cycle = 1

    if TYPE_CHECKING:  # the contract attributes every variant defines, as a field or a property
        @property
        def dequant(self) -> str: ...
        @property
        def weight_scheme(self) -> str: ...
        @property
        def act_scheme(self) -> str: ...
        @property
        def group_size(self) -> int | None: ...
        @property
        def weight_bits(self) -> int: ...
        @property
        def act_bits(self) -> int: ...

    @property
    def weight_storage_bits(self) -> float:
        """Stored bits per weight incl. shared scales / zeros / exponents: accel.formats' figure for the scheme."""
        return storage_bits(self.weight_scheme)

    @property
    def act_storage_bits(self) -> float:
        """Stored bits per activation, as ``weight_storage_bits``."""
        return storage_bits(self.act_scheme)

    def gemm(self, A, W) -> tuple[np.ndarray, Activity]:  # pragma: no cover - abstract
        raise NotImplementedError

    def activity_for(self, m: int, n: int, k: int) -> Activity:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_terms(self, A: np.ndarray, W: np.ndarray) -> bounds.ErrorTerms:  # pragma: no cover - abstract
        """The variant's operands as held, their quantization error bounds and its arithmetic error bound."""
        raise NotImplementedError(f"PE variant {self.NAME!r} defines no error bound")

    def error_bound(self, A, W) -> dict:
        """Proven elementwise bound on ``|gemm(A, W) - A @ W|`` for float A, W (:mod:`accel.pe.bounds`):
        ``{"ref", "ref_quantized", "bound", "quant", "arith"}``, float64 (M, N)."""
        A = np.asarray(A, dtype=np.float64)
        W = np.asarray(W, dtype=np.float64)
        return bounds.combine(A, W, self.error_terms(A, W))


def storage_bits(scheme: str) -> float:
    """Bits per element of an accel.formats scheme (``bits_per_element``) or element format (``bits``)."""
    from accel import formats

    obj = formats.get(scheme)
    return float(obj.bits_per_element if hasattr(obj, "bits_per_element") else obj.bits)


def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _coerce(v: Any, t: str, k: str) -> Any:
    """Convert a CLI/YAML value to a field of annotated type ``t`` (``int``, ``str``, ``int | None``...)."""
    if isinstance(v, str):
        s = v.strip()
        if "None" in t and s.lower() in ("none", "null", ""):
            return None
        if t.startswith("int"):
            try:
                return int(s, 0)
            except ValueError:
                raise ConfigError(f"{k} must be an integer, got {short_repr(v)}") from None
        if t.startswith("bool"):
            if s.lower() in ("true", "1", "yes"):
                return True
            if s.lower() in ("false", "0", "no"):
                return False
            raise ConfigError(f"{k} must be true or false, got {short_repr(v)}")
        return s
    return v


def parse(spec: Any) -> PESpec:
    """The one parser for PE specs.

    Accepts ``"NAME"``, ``"NAME:key=value,key=value"`` (CLI and YAML string form), a mapping
    ``{"name": NAME, key: value, ...}`` or ``{NAME: {key: value, ...}}`` (YAML mapping forms), or a spec.
    """
    if isinstance(spec, PESpec):
        return spec
    if isinstance(spec, str):
        name, _, rest = spec.strip().partition(":")
        params: dict[str, Any] = {}
        problems = []
        for item in filter(None, (s.strip() for s in rest.split(","))):
            k, eq, v = item.partition("=")
            if not eq or not k.strip():
                problems.append(f"expected key=value, got {short_repr(item)}")
            elif k.strip() in params:
                problems.append(f"parameter {k.strip()!r} given twice ({params[k.strip()]!r} and {v.strip()!r}); "
                                "give each parameter once")
            else:
                params[k.strip()] = v.strip()
        if problems:
            raise ConfigError(f"malformed PE spec {short_repr(spec)} (form NAME[:key=value,...]): "
                              + list_problems(problems))
        return variant(name.strip()).from_params(params, where=spec)
    if isinstance(spec, Mapping):
        if "name" in spec:
            params = {k: v for k, v in spec.items() if k != "name"}
            return variant(str(spec["name"])).from_params(params, where=str(spec["name"]))
        if len(spec) == 1:
            (name, params), = spec.items()
            if params is None:
                params = {}
            if not isinstance(params, Mapping):
                raise ConfigError(f"PE spec {short_repr(name)}: parameters must be a mapping, got {short_repr(params)}")
            return variant(str(name)).from_params(params, where=str(name))
        raise ConfigError("a PE spec mapping needs a 'name' key or a single NAME: {params} entry, "
                          f"got {short_repr(spec)}")
    raise ConfigError(f"a PE spec must be a string NAME[:key=value,...] or a mapping, got {short_repr(spec)}")
