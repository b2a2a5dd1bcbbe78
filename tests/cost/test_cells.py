"""Structural (standard-cell) area model and the calibrated PE area built on it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accel.pe as pe_mod
from accel.errors import ConfigError
from cost_models import cells
from cost_models.operators import OperatorModel
from cost_models.pe_cost import pe_hardware, unit_area

pytestmark = pytest.mark.unit

# Nangate FreePDK45 Open Cell Library areas (um^2)
AND2, FA, MUX2, DFF, NAND2 = 1.064, 4.256, 1.862, 4.522, 0.798


def test_array_multiplier_cells_and_area():
    # an 8x8 array multiplier: 64 partial-product ANDs and 7 rows of 8 full adders
    assert cells.cells("int_mul:8x8") == {"and2": 64, "fa": 56}
    assert cells.area_um2(cells.cells("int_mul:8x8")) == pytest.approx(64 * AND2 + 56 * FA)
    assert cells.structural_ge([], register_bits=10) == pytest.approx(10 * DFF / NAND2)


def test_node_scaling_applies_to_cells():
    from cost_models.tables import get_table

    t = get_table().at_node(22.5)
    assert cells.area_um2(cells.cells("int_add:8"), t) == pytest.approx(8 * FA / 4)


@pytest.mark.property
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40))
def test_structural_area_monotone(a, b, c):
    lo, hi = sorted((a, b))

    def area(k):
        return cells.area_um2(cells.cells(k))

    for kind in ("int_add", "shift", "convert", "kulisch_add"):
        assert area(f"{kind}:{lo}") <= area(f"{kind}:{hi}")
    for kind in ("int_mul", "shift_add_mul", "shift"):
        assert area(f"{kind}:{lo}x{c}") <= area(f"{kind}:{hi}x{c}")
        assert area(f"{kind}:{c}x{lo}") <= area(f"{kind}:{c}x{hi}")


def test_area_models():
    m = OperatorModel()
    anchored, _, src = unit_area("int_mul:8x8", m, "anchored")
    assert anchored == 282 and "Horowitz" in src
    calibrated, law, src = unit_area("int_mul:8x8", m, "calibrated")
    assert calibrated == pytest.approx(64 * AND2 + 56 * FA)  # int_mul is the reference family (factor 1)
    assert "Nangate" in src and "calibrated" in law
    with pytest.raises(ConfigError, match=r"^unknown area model 'x'; valid: calibrated, anchored$"):
        unit_area("int_mul:8x8", m, "x")


@pytest.mark.parametrize("name", pe_mod.names())
def test_every_pe_variant_is_priced(name):
    m = OperatorModel()
    for area_model in ("calibrated", "anchored"):
        hw = pe_hardware(pe_mod.get(name), m, area_model)
        assert hw.pe_area_um2 > 0 and hw.pe_units
        assert all(u.energy_pj >= 0 and u.area_um2 >= 0 for u in hw.pe_units + hw.dequant_units)
