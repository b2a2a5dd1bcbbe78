"""Hardware design specs: array, memory system, dequantization units, and the whole design.

Frozen, validated on construction; sweeps derive variants with ``dataclasses.replace``.  Design files
are read by :mod:`accel.config` and validated in one place (:func:`design_from_dict` /
:func:`load_design`), which reports every problem in a file at once in a single :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accel.dram import DramTechnology, dram_technology
from accel.errors import AccelError, ConfigError, list_problems, short_repr

DATAFLOWS = ("ws", "os", "is")
DEQUANT_PLACEMENTS = ("per_pe", "column_edge", "vector_unit")
KIB_BITS = 8 * 1024


def _check(problems: list[str], ok: bool, msg: str) -> None:
    if not ok:
        problems.append(msg)


def _positive_number(v: Any) -> bool:
    """A finite number > 0 (inf and nan are refused: no hardware has them, and they poison every result)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _raise(what: str, problems: list[str]) -> None:
    if problems:
        raise ConfigError(f"invalid {what}: " + "; ".join(problems))


@dataclass(frozen=True)
class ArraySpec:
    """A rows x cols systolic array of one PE variant."""

    rows: int = 32
    cols: int = 32
    dataflow: str = "ws"
    freq_mhz: float = 500.0
    # bits per cycle written into the stationary operand's shadow registers, split over the columns;
    # None: one PE row per column per cycle whatever the operand's width (the SCALE-Sim / RTL array)
    weight_load_bits_per_cycle: int | None = None

    def problems(self) -> list[str]:
        p: list[str] = []
        b = self.weight_load_bits_per_cycle
        _check(p, b is None or (isinstance(b, int) and not isinstance(b, bool) and b >= 1),
               f"array.weight_load_bits_per_cycle must be an integer >= 1 or omitted, got {b!r}")
        for name in ("rows", "cols"):
            v = getattr(self, name)
            _check(p, isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096,
                   f"array.{name} must be an integer in 1..4096, got {short_repr(v)}")
        _check(p, self.dataflow in DATAFLOWS,
               f"array.dataflow must be one of {', '.join(DATAFLOWS)}, got {short_repr(self.dataflow)}")
        _check(p, _positive_number(self.freq_mhz),
               f"array.freq_mhz must be a positive number, got {short_repr(self.freq_mhz)}")
        return p

    def __post_init__(self) -> None:
        _raise("array spec", self.problems())

    @classmethod
    def parse_shape(cls, text: str) -> tuple[int, int]:
        """Parse ``"RxC"`` (e.g. ``"32x32"``)."""
        if not isinstance(text, str):
            raise ConfigError(f"array shape must be a string ROWSxCOLS like '32x32', got {type(text).__name__} "
                              f"{short_repr(text)}")
        parts = [s.strip() for s in text.lower().split("x")]
        if len(parts) != 2 or not all(s.isascii() and s.isdigit() and len(s) < 8 for s in parts):
            raise ConfigError(f"array shape must be written ROWSxCOLS like '32x32', got {short_repr(text)}")
        return int(parts[0]), int(parts[1])


def weight_load_lanes(bits_per_cycle: int | None, cols: int, row_bits: int) -> int:
    """Lanes of each column's weight-write bus: PE rows (``row_bits`` = s x element bits) written per cycle.

    ``bits_per_cycle`` is split evenly over the ``cols`` columns and packed with as many rows as fit;
    None is the one-row bus.  ConfigError when the path cannot write one row per column per cycle.
    """
    if bits_per_cycle is None:
        return 1
    lanes = bits_per_cycle // (cols * row_bits)
    if lanes < 1:
        raise ConfigError(f"array.weight_load_bits_per_cycle must carry at least one PE row ({row_bits} bits) per "
                          f"column per cycle on {cols} columns: valid values >= {cols * row_bits} or omitted, "
                          f"got {bits_per_cycle!r}")
    return int(lanes)


def stationary_row_bits(pe: Any, operand: str | None) -> int:
    """Bits one PE row of the stationary ``operand`` holds (``sim.dataflows``' ``stationary``):
    ``macs_per_pe_per_cycle`` elements at the weight width ("weight") or the activation width ("input");
    0 when no operand is stationary (None)."""
    if operand is None:
        return 0
    s = int(getattr(pe, "macs_per_pe_per_cycle", 1) or 1)
    return s * int(pe.act_bits if operand == "input" else pe.weight_bits)


@dataclass(frozen=True)
class BufferSpec:
    """One on-chip SRAM buffer."""

    capacity_bits: int
    banks: int = 1
    bandwidth_bits_per_cycle: int = 4096

    def problems(self, name: str) -> list[str]:
        p: list[str] = []
        _check(p, isinstance(self.capacity_bits, int) and self.capacity_bits > 0,
               f"memory.{name}.capacity_bits must be a positive integer, got {short_repr(self.capacity_bits)}")
        _check(p, isinstance(self.banks, int) and self.banks >= 1,
               f"memory.{name}.banks must be an integer >= 1, got {short_repr(self.banks)}")
        _check(p, isinstance(self.bandwidth_bits_per_cycle, int) and self.bandwidth_bits_per_cycle > 0,
               f"memory.{name}.bandwidth_bits_per_cycle must be a positive integer, "
               f"got {short_repr(self.bandwidth_bits_per_cycle)}")
        return p


@dataclass(frozen=True)
class MemorySpec:
    """Weight/input/output SRAM buffers and DRAM (defaults: the MixPE authors' simulator)."""

    weight_buffer: BufferSpec = BufferSpec(128 * KIB_BITS)
    input_buffer: BufferSpec = BufferSpec(256 * KIB_BITS)
    output_buffer: BufferSpec = BufferSpec(128 * KIB_BITS)
    dram_bandwidth_bytes_per_cycle: float = 128.0
    dram_latency_cycles: int = 100
    double_buffered: bool = True
    # the DRAM technology applied (accel.dram; set with :func:`with_dram`): its energy per bit for the cost
    # model; None: the cost table's DRAM figure
    dram: DramTechnology | None = None

    def problems(self) -> list[str]:
        p: list[str] = []
        for name in ("weight_buffer", "input_buffer", "output_buffer"):
            p += getattr(self, name).problems(name)
        _check(p, _positive_number(self.dram_bandwidth_bytes_per_cycle),
               "memory.dram_bandwidth_bytes_per_cycle must be a positive number, "
               f"got {short_repr(self.dram_bandwidth_bytes_per_cycle)}")
        _check(p, isinstance(self.dram_latency_cycles, int) and self.dram_latency_cycles >= 0,
               f"memory.dram_latency_cycles must be an integer >= 0, got {short_repr(self.dram_latency_cycles)}")
        _check(p, self.dram is None or isinstance(self.dram, DramTechnology),
               f"memory.dram must be an accel.dram.DramTechnology or None, got {short_repr(self.dram)}")
        return p

    def __post_init__(self) -> None:
        _raise("memory spec", self.problems())


@dataclass(frozen=True)
class DequantSpec:
    """Where group dequantization happens in hardware and how fast."""

    placement: str = "column_edge"
    count: int | None = None  # None: one per column (column_edge) / per PE (per_pe)
    latency_cycles: int = 4
    throughput_per_cycle: int = 1  # dequant operations one unit accepts per cycle
    # cycles of the accumulator loop (read, add, write one output's running sum; part of latency_cycles): a
    # fold's group sums may reach the units only this many cycles after the previous fold's
    accumulate_cycles: int = 1

    def problems(self) -> list[str]:
        p: list[str] = []
        _check(p, self.placement in DEQUANT_PLACEMENTS,
               f"dequant.placement must be one of {', '.join(DEQUANT_PLACEMENTS)}, got {short_repr(self.placement)}")
        _check(p, self.count is None or (isinstance(self.count, int) and self.count >= 1),
               f"dequant.count must be an integer >= 1 or omitted, got {short_repr(self.count)}")
        _check(p, isinstance(self.latency_cycles, int) and self.latency_cycles >= 0,
               f"dequant.latency_cycles must be an integer >= 0, got {short_repr(self.latency_cycles)}")
        _check(p, isinstance(self.throughput_per_cycle, int) and self.throughput_per_cycle >= 1,
               f"dequant.throughput_per_cycle must be an integer >= 1, got {short_repr(self.throughput_per_cycle)}")
        a = self.accumulate_cycles
        lat = self.latency_cycles if isinstance(self.latency_cycles, int) else 0
        _check(p, isinstance(a, int) and not isinstance(a, bool) and 1 <= a <= lat + 1,
               f"dequant.accumulate_cycles must be an integer in 1..latency_cycles + 1 = {lat + 1}, "
               f"got {short_repr(a)}")
        return p

    def __post_init__(self) -> None:
        _raise("dequant spec", self.problems())


@dataclass(frozen=True)
class WorkloadSpec:
    """What a model workload on this design runs when the command line does not say (``--context`` /
    ``--batch``): the prompt length, i.e. the context a decode step attends to, and the sequences decoded
    together."""

    context: int | None = None
    batch: int | None = None

    def problems(self) -> list[str]:
        return [f"workload.{name} must be an integer >= 1 or omitted, got {short_repr(v)}"
                for name in ("context", "batch") if (v := getattr(self, name)) is not None
                and not (isinstance(v, int) and not isinstance(v, bool) and v >= 1)]

    def __post_init__(self) -> None:
        _raise("workload spec", self.problems())


@dataclass(frozen=True)
class Design:
    """A complete accelerator design: one PE variant in an array with a memory system."""

    pe: Any  # accel.pe spec (see accel.pe.parse)
    array: ArraySpec = field(default_factory=ArraySpec)
    memory: MemorySpec = field(default_factory=MemorySpec)
    dequant: DequantSpec = field(default_factory=DequantSpec)
    kv_cache_format: str | None = None
    name: str = ""
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)

    def replace(self, **changes: Any) -> Design:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(dataclasses.replace(self, pe=None))
        d["pe"] = self.pe.to_string() if hasattr(self.pe, "to_string") else str(self.pe)
        return d


def with_dram(design: Design, spec: Any) -> Design:
    """``design`` on the DRAM technology ``spec`` (a preset name, an explicit mapping or a
    :class:`~accel.dram.DramTechnology`): its bandwidth at the array's clock and its energy per bit."""
    tech = dram_technology(spec)
    bw = tech.bandwidth_bytes_per_cycle(design.array.freq_mhz)
    return design.replace(memory=dataclasses.replace(design.memory, dram=tech, dram_bandwidth_bytes_per_cycle=bw))


_SECTIONS = {"name", "pe", "array", "memory", "dequant", "kv_cache_format", "workload"}
_BUFFERS = ("weight_buffer", "input_buffer", "output_buffer")


def _fields_of(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _build(cls, data: Any, where: str, problems: list[str], build=None):
    """Construct ``cls(**data)`` collecting unknown keys and validation problems instead of raising."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{where} must be a mapping, got {type(data).__name__} {short_repr(data)}")
        return None
    unknown = sorted(set(data) - _fields_of(cls), key=str)
    for k in unknown:
        problems.append(f"unknown key {where}.{short_repr(k)}; valid keys: {', '.join(sorted(_fields_of(cls)))}")
    kwargs = {k: v for k, v in data.items() if k not in unknown}
    if build:
        kwargs = build(kwargs)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        problems.append(str(exc).split(": ", 1)[-1])
    except TypeError as exc:
        problems.append(f"{where}: {exc}")
    return None


def design_from_dict(data: Any, source: str = "<dict>") -> Design:
    """Build a :class:`Design` from parsed YAML, reporting every problem at once."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a design must be a mapping with keys {sorted(_SECTIONS)}, "
                          f"got {type(data).__name__}")
    for k in sorted(set(data) - _SECTIONS, key=str):
        problems.append(f"unknown top-level key {short_repr(k)}; valid keys: {', '.join(sorted(_SECTIONS))}")
    pe = None
    if "pe" not in data:
        problems.append("missing required key 'pe' (e.g. pe: mixpe_w4a8:group_size=32)")
    else:
        try:
            from accel import pe as pe_mod

            pe = pe_mod.parse(data["pe"])
        except (ConfigError, ValueError) as exc:
            problems.append(f"pe: {exc}")
    array = _build(ArraySpec, data.get("array"), "array", problems)

    def buffers(kw):
        for b in _BUFFERS:
            if b in kw:
                buf = _build(BufferSpec, kw[b], f"memory.{b}", problems)
                kw[b] = buf if buf is not None else BufferSpec(1)
        return kw

    raw_memory, dram = data.get("memory"), None
    if isinstance(raw_memory, dict) and "dram" in raw_memory:
        raw_memory = {k: v for k, v in raw_memory.items() if k != "dram"}
        if "dram_bandwidth_bytes_per_cycle" in raw_memory:
            problems.append("memory.dram sets the DRAM bandwidth: give memory.dram or "
                            "memory.dram_bandwidth_bytes_per_cycle, not both")
        try:
            dram = dram_technology(data["memory"]["dram"])
        except ConfigError as exc:
            problems.append(str(exc))
    memory = _build(MemorySpec, raw_memory, "memory", problems, buffers)
    dequant = _build(DequantSpec, data.get("dequant"), "dequant", problems)
    workload = _build(WorkloadSpec, data.get("workload"), "workload", problems)
    kv_format = data.get("kv_cache_format")
    if kv_format is not None:
        from accel import formats

        try:
            formats.get(kv_format)
        except AccelError as exc:
            problems.append(f"kv_cache_format: {exc}")
    if problems:
        raise ConfigError(f"{source}: " + list_problems(problems))
    design = Design(pe=pe, array=array, memory=memory, dequant=dequant,
                    kv_cache_format=data.get("kv_cache_format"), name=str(data.get("name", "")), workload=workload)
    return with_dram(design, dram) if dram is not None else design


def load_design(path: str | Path) -> Design:
    """Load a design YAML file (see ``examples/designs/``)."""
    from accel.config import read_yaml

    return design_from_dict(read_yaml(path, "design file"), source=str(path))


def design_from_args(design: str | None, pe: str | None, array: str | None = None, *, dataflow: str = "ws",
                     freq_mhz: float | None = None) -> Design:
    """The design a command line names, the one reading of ``--design FILE | --pe SPEC [--array RxC]`` for every
    command: the design file, or the PE spec in an array (default: :class:`ArraySpec`'s shape and
    clock) with ``dataflow``.  ConfigError for both or neither, or ``--array`` with ``--design``."""
    from accel import pe as pe_mod

    if bool(design) == bool(pe):
        raise ConfigError(f"give exactly one of --design FILE or --pe SPEC, got design={design!r} pe={pe!r}")
    if design:
        if array:
            raise ConfigError(f"--array {array!r} cannot be combined with --design (the design has its array)")
        return load_design(design)
    rows, cols = ArraySpec.parse_shape(array) if array else (ArraySpec.rows, ArraySpec.cols)
    freq = ArraySpec.freq_mhz if freq_mhz is None else freq_mhz
    return Design(pe=pe_mod.parse(pe), array=ArraySpec(rows, cols, dataflow, freq))
