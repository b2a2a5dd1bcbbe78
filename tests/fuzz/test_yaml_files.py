"""Fuzz the YAML loaders: design files, sweep files and cost tables load or raise ConfigError, within bounds."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from accel.design import load_design
from cost_models import tables
from cost_models.explore.spec import AXES, accel_canonical_pe, accel_models, load_sweep

from .harness import fuzz_tests, yaml_inputs

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count()
_dir = tempfile.TemporaryDirectory(prefix="accel-fuzz-")


def _file(data: bytes) -> Path:
    path = Path(_dir.name, f"{next(_names)}.yaml")  # a fresh name: cost tables are cached by path
    path.write_bytes(data)
    return path


DESIGN_KEYS = ["name", "pe", "array", "memory", "dequant", "kv_cache_format", "rows", "cols", "dataflow", "freq_mhz",
               "weight_buffer", "input_buffer", "output_buffer", "capacity_bits", "banks", "bandwidth_bits_per_cycle",
               "dram_bandwidth_bytes_per_cycle", "dram_latency_cycles", "double_buffered", "placement", "count",
               "latency_cycles", "throughput_per_cycle", "group_size", "weight_format", "workload", "context", "batch",
               "dram", "pj_per_bit", "weight_load_bits_per_cycle"]
SWEEP_KEYS = ["name", "description", "workload", "axes", "constraints", "fronts", "max_points", "also", "model",
              "phases", "prefill_tokens", "context", "decode_tokens", "batch", "accuracy_windows", "accuracy_tokens",
              "max_area_um2", "max_accuracy_loss", *AXES, "group_size", "weight_format"]
TABLE_KEYS = ["name", "node_nm", "vdd_v", "sources", "ops", "cells", "memory", "int_add", "int_mul", "fp_add",
              "fp_mul", "energy_pj", "area_um2", "source", "bits", "ebits", "mbits", "value", "sram_read_64b",
              "capacity_bytes", "nand2_um2", "dff_um2"]

DESIGN_SEED = (ROOT / "examples" / "designs" / "mixpe_w4a8_64x64.yaml").read_text()
SWEEP_SEED = (ROOT / "cost_models" / "explore" / "presets" / "bfp-kv.yaml").read_text()
TABLE_SEED = (ROOT / "cost_models" / "data" / "horowitz_45nm.yaml").read_text()

test_design_file, test_design_file_long = fuzz_tests(
    "design_file", yaml_inputs(DESIGN_SEED, DESIGN_KEYS, "array"), lambda data: load_design(_file(data)))

test_sweep_file, test_sweep_file_long = fuzz_tests(
    "sweep_file", yaml_inputs(SWEEP_SEED, SWEEP_KEYS, "axes"),
    lambda data: load_sweep(_file(data), canonical_pe=accel_canonical_pe, models=accel_models()))

test_cost_table, test_cost_table_long = fuzz_tests(
    "cost_table", yaml_inputs(TABLE_SEED, TABLE_KEYS, "ops"), lambda data: tables.get_table(str(_file(data))))
