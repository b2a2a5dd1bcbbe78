"""Cost tables: YAML validation reports every problem at once; alternative tables plug in."""

import copy

import pytest
import yaml

from accel.errors import ConfigError
from cost_models.operators import OperatorModel
from cost_models.tables import BUILTIN, get_table, table_from_dict

pytestmark = pytest.mark.unit


@pytest.fixture()
def raw():
    return yaml.safe_load(BUILTIN["horowitz45"].read_text())


def test_every_number_has_a_source(raw):
    for op, pts in raw["ops"].items():
        assert all(p["source"] in raw["sources"] for p in pts), op
    for section in ("cells", "memory"):
        for k, v in raw[section].items():
            items = v if isinstance(v, list) else [v]
            assert all("source" in i for i in items), k


def test_alternative_table_plugs_in(tmp_path, raw):
    alt = copy.deepcopy(raw)
    alt["name"] = "double"
    for pts in alt["ops"].values():
        for p in pts:
            p["energy_pj"] *= 2
    path = tmp_path / "double.yaml"
    path.write_text(yaml.safe_dump(alt))
    base, doubled = OperatorModel(), OperatorModel(str(path))
    for key in ("int_add:13", "int_mul:7x5", "fp_mul:e4m3xe2m1", "fp_add:bf16", "shift:24", "shift_add_mul:8x4"):
        assert doubled.price(key).energy_pj == pytest.approx(2 * base.price(key).energy_pj, rel=1e-12)
        assert doubled.price(key).area_um2 == pytest.approx(base.price(key).area_um2, rel=1e-12)
    assert doubled.table.name == "double" and doubled.table.provenance["path"] == str(path)


def test_all_problems_reported_at_once(raw):
    bad = copy.deepcopy(raw)
    del bad["vdd_v"]
    bad["ops"]["int_mul"] = bad["ops"]["int_mul"][:1]
    bad["ops"]["int_add"][0]["energy_pj"] = -1
    bad["ops"]["fp_div"] = []
    bad["cells"]["dff_um2"] = 4.5
    with pytest.raises(ConfigError) as exc:
        table_from_dict(bad, source="bad.yaml")
    msg = str(exc.value)
    assert msg.startswith("bad.yaml: 5 problem(s) in cost table: ")
    for part in ("missing key 'vdd_v'", "ops.int_mul must list exactly two anchor points",
                 "ops.int_add[0].energy_pj must be a positive number, got -1",
                 "unknown op 'fp_div' under ops; valid: int_add, int_mul, fp_add, fp_mul",
                 "cells.dff_um2 must be a mapping with 'value' and 'source', got 4.5"):
        assert part in msg


def test_unknown_table_name():
    with pytest.raises(ConfigError, match=r"^unknown cost table 'nope'; valid: horowitz45 or a path to a \.yaml file$"):
        get_table("nope")


def test_unreadable_table(tmp_path):
    with pytest.raises(ConfigError, match=r"^cannot read cost table '.*missing\.yaml': "):
        get_table(str(tmp_path / "missing.yaml"))


def test_table_from_dict_prices_a_design(raw):
    import accel.pe as pe_mod
    from accel.design import ArraySpec, Design
    from cost_models.evaluation import price
    from cost_models.usage import usage_for_gemm

    t = table_from_dict(raw)
    d = Design(pe=pe_mod.get("int8_mac"), array=ArraySpec(4, 4))
    r = price(d, usage_for_gemm(d, 2, 8, 8), table=t)
    assert r.area_um2 > 0 and r.provenance["path"] == "<dict>"
