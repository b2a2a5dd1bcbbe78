"""Typed records passed between the sweep, the evaluation stage and the results store.

A :class:`Point` is one design evaluated on one workload.  Its arithmetic part (:class:`ArithConfig`:
PE variant, KV-cache format, model and accuracy setup) decides accuracy; the rest (array, memory,
dequant units) only changes cycles, energy and area, so accuracy is computed once per ArithConfig.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from accel.design import KIB_BITS, ArraySpec, BufferSpec, DequantSpec, Design, MemorySpec
from cost_models.explore.hashing import config_hash
from workloads.protocol import DEFAULT_TOKENS, DEFAULT_WINDOWS


@dataclass(frozen=True)
class Workload:
    """What the designs run: a model, which phases, how many tokens, and the accuracy setup."""

    model: str = "smollm2-135m"
    phases: tuple[str, ...] = ("prefill", "decode")
    prefill_tokens: int = 64
    decode_tokens: int = 16
    batch: int = 1  # sequences processed together (performance only; accuracy is per sequence)
    accuracy_windows: int = DEFAULT_WINDOWS  # consecutive windows of the evaluation text (llama.cpp's protocol)
    accuracy_tokens: int = DEFAULT_TOKENS  # tokens per window; the second half of each is scored


@dataclass(frozen=True)
class ArithConfig:
    """The part of a point that decides accuracy: the arithmetic, not the array around it."""

    model: str
    pe: str
    kv_cache_format: str | None
    accuracy_windows: int
    accuracy_tokens: int
    kv_sort_k_channels: bool = False
    attention: str = "reference"
    kv_keys_only: bool = False
    query_format: str | None = None

    @property
    def key(self) -> str:
        """Stable hash of this configuration (hex)."""
        return config_hash(self)


_ARRAY, _MEMORY, _DEQUANT = ArraySpec(), MemorySpec(), DequantSpec()


@dataclass(frozen=True)
class Point:
    """One design point: a PE variant in an array with a memory system, on one workload.

    The design fields are the sweep's axes, the results table's columns and what the point's hash covers; their
    defaults are :class:`accel.design.Design`'s, and :meth:`to_design` builds the design.
    """

    workload: Workload
    pe: str  # canonical PE spec string, ``NAME[:key=value,...]`` (accel.pe.parse round-trips it)
    array_rows: int = _ARRAY.rows
    array_cols: int = _ARRAY.cols
    dataflow: str = _ARRAY.dataflow
    freq_mhz: float = _ARRAY.freq_mhz
    dram_bandwidth_bytes_per_cycle: float = _MEMORY.dram_bandwidth_bytes_per_cycle
    weight_buffer_kib: int = _MEMORY.weight_buffer.capacity_bits // KIB_BITS
    input_buffer_kib: int = _MEMORY.input_buffer.capacity_bits // KIB_BITS
    output_buffer_kib: int = _MEMORY.output_buffer.capacity_bits // KIB_BITS
    dequant_placement: str = _DEQUANT.placement
    dequant_count: int | None = _DEQUANT.count
    kv_cache_format: str | None = Design.kv_cache_format
    kv_sort_k_channels: bool = False  # K-channel sorting before K-cache quantization (accuracy only)
    attention: str = "reference"  # accuracy: which products go through the PE (workloads.protocol.ATTENTION_MODES)
    kv_keys_only: bool = False  # only keys stored in kv_cache_format, values as computed (accuracy only)
    query_format: str | None = None  # queries quantized before Q.K^T, in the key channel order (accuracy only)
    fpga_device: str | None = None  # an FPGA part (rtl.synth.pnr.DEVICES): clocked at its predicted Fmax, must fit
    fpga_place_and_route: bool = False  # with fpga_device: also place and route the array for real (model check)

    @property
    def key(self) -> str:
        """Stable hash of the whole configuration (hex); the results store is keyed by it."""
        return config_hash(self)

    @property
    def family(self) -> str:
        """Design family for hypervolume: the PE variant name without parameters."""
        return self.pe.split(":", 1)[0]

    @property
    def label(self) -> str:
        """Short human label: ``pe @ RxC``."""
        return f"{self.pe} @ {self.array_rows}x{self.array_cols}"

    def arith(self) -> ArithConfig:
        w = self.workload
        return ArithConfig(model=w.model, pe=self.pe, kv_cache_format=self.kv_cache_format,
                           accuracy_windows=w.accuracy_windows, accuracy_tokens=w.accuracy_tokens,
                           kv_sort_k_channels=self.kv_sort_k_channels, attention=self.attention,
                           kv_keys_only=self.kv_keys_only, query_format=self.query_format)

    def to_design(self, pe_spec) -> Design:
        """The :class:`accel.design.Design` of this point around an already parsed PE spec."""
        def buffer(default: BufferSpec, kib: int) -> BufferSpec:
            return dataclasses.replace(default, capacity_bits=kib * KIB_BITS)

        memory = dataclasses.replace(_MEMORY, weight_buffer=buffer(_MEMORY.weight_buffer, self.weight_buffer_kib),
                                     input_buffer=buffer(_MEMORY.input_buffer, self.input_buffer_kib),
                                     output_buffer=buffer(_MEMORY.output_buffer, self.output_buffer_kib),
                                     dram_bandwidth_bytes_per_cycle=self.dram_bandwidth_bytes_per_cycle)
        return Design(pe=pe_spec,
                      array=dataclasses.replace(_ARRAY, rows=self.array_rows, cols=self.array_cols,
                                                dataflow=self.dataflow, freq_mhz=self.freq_mhz),
                      memory=memory,
                      dequant=dataclasses.replace(_DEQUANT, placement=self.dequant_placement,
                                                  count=self.dequant_count),
                      kv_cache_format=self.kv_cache_format, name=self.label)


@dataclass(frozen=True)
class AccuracyResult:
    """Accuracy of one arithmetic configuration, paired with the float64 reference on the same tokens.

    ``*_low`` / ``*_high``: 95% bootstrap-over-windows interval (``workloads.statistics``); NaN when not
    applicable (one window, shape-only model).  Decoder: ``kld`` is the mean KL(p_ref || p_design) per
    scored token, ``top1`` the share of scored positions whose argmax equals the reference's,
    ``delta_nll`` the mean NLL difference (design minus reference), ``per_window`` the per-window mean
    NLLs (``reference_per_window`` the reference's).  Encoder: ``per_window`` holds per-sentence cosines.
    ``routes``: which arithmetic each weight tensor went through; ``text_*`` and ``model_files``: the
    evaluation text and the model files (SHA-256) it was computed with.
    """

    metric: str  # e.g. "perplexity", "cosine"
    value: float
    reference: float
    higher_is_better: bool = False
    windows: int = 0  # evaluation windows (sentences for an encoder) and tokens per window (0: not applicable)
    tokens: int = 0
    value_stderr: float = math.nan  # standard error of ``value`` over the windows (NaN with one window)
    loss_stderr: float = math.nan  # standard error of ``loss``, paired per window with the reference
    score: str = ""  # scored positions per window: "half" (N/2 .. N-2) or "all"
    tokens_scored: int = 0
    value_low: float = math.nan
    value_high: float = math.nan
    loss_low: float = math.nan
    loss_high: float = math.nan
    kld: float = math.nan
    kld_low: float = math.nan
    kld_high: float = math.nan
    top1: float = math.nan
    top1_low: float = math.nan
    top1_high: float = math.nan
    delta_nll: float = math.nan
    delta_nll_low: float = math.nan
    delta_nll_high: float = math.nan
    per_window: tuple[float, ...] = ()
    reference_per_window: tuple[float, ...] = ()
    per_window_kld: tuple[float, ...] = ()
    per_window_top1: tuple[float, ...] = ()
    routes: str = ""
    text_source: str = ""  # the evaluation text: where it came from and its SHA-256 (UTF-8)
    text_sha256: str = ""
    model_files: str = ""  # JSON {file: SHA-256} of the model files the accuracy was computed with

    @property
    def loss(self) -> float:
        """Relative degradation versus the reference (0 = as good; > 0 worse)."""
        if self.higher_is_better:
            return (self.reference - self.value) / abs(self.reference)
        return self.value / self.reference - 1.0


@dataclass(frozen=True)
class OpPerf:
    """Per-op figures for the roofline plot."""

    phase: str
    name: str
    macs: int
    dram_bits: int
    cycles: int
    compute_bound_cycles: float
    memory_bound_cycles: float
    bound: str = ""  # the limit that binds the op (sim.bounds.LIMITS), "" when not known
    bound_cycles: float = math.nan  # the cycles that limit alone needs: the op's own roof is macs / bound_cycles


@dataclass(frozen=True)
class PerfResult:
    """Cycles, energy and area of one design point on its workload (all phases together)."""

    cycles: int
    prefill_cycles: int
    decode_cycles: int
    compute_cycles: int
    fill_drain_cycles: int
    memory_stall_cycles: int
    dequant_stall_cycles: int
    utilization: float
    macs: int
    dram_bits: int
    tokens: int
    energy_pj: float
    area_um2: float
    fpga_luts: float
    peak_macs_per_cycle: float
    cost_source: str = ""
    weight_scheme: str = ""  # the PE's operand schemes and element widths (for the claims table)
    act_scheme: str = ""
    weight_bits: int = 0
    act_bits: int = 0
    # energy per token by component (cost_models.evaluation.ENERGY_COMPONENTS; they sum to energy_pj / tokens)
    energy_pe_arith_pj_per_token: float = math.nan
    energy_dequant_pj_per_token: float = math.nan
    energy_array_pj_per_token: float = math.nan
    energy_sram_pj_per_token: float = math.nan
    energy_dram_pj_per_token: float = math.nan
    energy_leakage_pj_per_token: float = math.nan
    ttft_ms: float = math.nan  # decoders: time to first token (the prefill) and per output token (one decode step)
    tpot_ms: float = math.nan
    ops: tuple[OpPerf, ...] = ()
    clock_mhz: float = math.nan  # the clock latency is counted at: freq_mhz, or the predicted Fmax on an FPGA part
    fpga_fmax_mhz: float = math.nan  # FPGA points (cost_models.fpga.fmax): predicted Fmax, logic levels, fit
    fpga_levels: float = math.nan
    fpga_fits: bool = True
    fpga_misfit: str = ""  # why it does not fit the part ("" when it fits)
    fpga_luts_available: float = math.nan
    fpga_fmax_measured_mhz: float = math.nan  # fpga_place_and_route: nextpnr's Fmax and LUTs of the array in the
    fpga_luts_measured: float = math.nan  # harness (rtl.harness), its harness included


@runtime_checkable
class Evaluator(Protocol):
    """The pluggable evaluation stage.  Must be picklable (it is shipped to worker processes).

    It may also define ``canonical_pe(text) -> str`` to validate and canonicalise the sweep's PE strings
    (``None``: keep them as written); without it, ``accel.pe.parse`` does.  Likewise ``models``, the model
    names it evaluates (``None``: any); without it, the toolkit's real and shape-only models.
    """

    def accuracy(self, arith: ArithConfig) -> AccuracyResult: ...

    def performance(self, point: Point) -> PerfResult: ...


def scalar_fields(cls) -> list[dataclasses.Field]:
    """Fields of a record that become table columns (nested records and tuples of records excluded)."""
    return [f for f in dataclasses.fields(cls) if f.name not in ("workload", "ops")]
