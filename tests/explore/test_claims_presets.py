"""The accuracy presets of the paper claims: what each sweeps, as the claims state their settings."""

import pytest

from accel import formats, pe
from accel.pe.grids import element_format_pes, element_formats
from cost_models.explore.spec import accel_canonical_pe, load_sweep, preset_path

pytestmark = pytest.mark.unit


def _load(name):
    return load_sweep(preset_path(name), canonical_pe=accel_canonical_pe)


def test_lmul_attention_preset_runs_attention_only_on_both_models():
    sweep = _load("claims-lmul-attention")
    assert {p.attention for p in sweep.points} == {"pe_only"}
    assert {p.workload.model for p in sweep.points} == {"smollm2-135m", "minilm-l6"}
    smol = {p.pe for p in sweep.points if p.workload.model == "smollm2-135m"}
    assert smol == {"minifloat_mac", "lmul", "lmul:realisation=adder"}
    assert all((p.workload.accuracy_windows, p.workload.accuracy_tokens) == (8, 512) for p in sweep.points
               if p.workload.model == "smollm2-135m")


def test_bfp_kv_preset_is_the_papers_setting_and_never_labels_a_no_op_sort():
    sweep = _load("claims-bfp-kv")
    arith = {p.arith() for p in sweep.points}
    assert all(a.kv_keys_only for a in arith)
    for a in arith:  # queries in BFP16 with the keys' block size
        assert formats.get(a.query_format).block_size == formats.get(a.kv_cache_format).block_size
        assert a.query_format.startswith("bfp16_")
    got = {(a.kv_cache_format, a.kv_sort_k_channels) for a in arith}
    assert got == {(f"bfp{n}_b{b}", s) for n in (12, 16) for b in (16, 32) for s in (False, True)} | {
        ("bfp12_b64", False), ("bfp16_b64", False)}


def test_element_format_grid_differs_in_the_element_format_only():
    grid = element_format_pes()
    assert set(grid) == set(range(3, 9))
    for width, specs in grid.items():
        parsed = [pe.parse(s) for s in specs]
        assert {(s.NAME, s.accumulate, s.dequant) for s in parsed} == {("minifloat_mac", "fp32", "per_output")}
        assert all(s.act_format == s.weight_format and formats.get(s.weight_format).bits == width for s in parsed)
        kinds = [type(formats.get(s.weight_format)).__name__ for s in parsed]
        assert kinds[0] == "IntFormat" and set(kinds[1:]) == {"FloatFormat"} and len(kinds) >= 2
    assert element_formats(4) == ["int4", "e2m1", "e3m0"]


def test_minifloat_int_preset_is_the_grid_on_both_models():
    sweep = _load("claims-minifloat-int")
    want = {s for specs in element_format_pes().values() for s in specs}
    for model in ("minilm-l6", "smollm2-135m"):
        assert {p.pe for p in sweep.points if p.workload.model == model} == want


def test_element_width_is_checked():
    from accel.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^element width must be an integer in 3\.\.8 bits, got 9$"):
        element_formats(9)
