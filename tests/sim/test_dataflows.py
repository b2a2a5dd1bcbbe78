"""The dataflow registry: one object per dataflow, the names a design accepts, IS as WS on the transpose."""

import itertools

import pytest

from accel.design import DATAFLOWS as DESIGN_DATAFLOWS
from accel.errors import ConfigError
from sim import dataflows
from sim.dataflows import DATAFLOWS, InputStationary, OutputStationary, WeightStationary

pytestmark = pytest.mark.unit

SHAPES = list(itertools.product((1, 5, 32, 33), (1, 7, 64), (1, 31, 128)))


def test_the_registry_holds_every_name_a_design_accepts():
    assert tuple(DATAFLOWS) == DESIGN_DATAFLOWS
    assert {type(d) for d in DATAFLOWS.values()} == {WeightStationary, OutputStationary, InputStationary}
    assert all(dataflows.get(name).name == name for name in DESIGN_DATAFLOWS)


@pytest.mark.parametrize("bad", ["WS", "", None, "row_stationary"])
def test_an_unknown_dataflow_is_refused_with_the_choices(bad):
    with pytest.raises(ConfigError, match=rf"^dataflow must be one of ws, os, is, got {bad!r}$".replace("(", r"\(")):
        dataflows.get(bad)


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_input_stationary_is_weight_stationary_on_the_transpose(m, n, k):
    ws, is_ = dataflows.get("ws"), dataflows.get("is")
    assert is_.fold_dims(m, k, n) == ws.fold_dims(n, k, m)
    for rows, cols in ((4, 4), (8, 32), (32, 8)):
        assert is_.scalesim_cycles(m, n, k, rows, cols) == ws.scalesim_cycles(n, m, k, rows, cols)


@pytest.mark.parametrize("m,k,n,rows,cols,name,cycles", [  # SCALE-Sim 3.0.0 runs (REFERENCE.md section 5)
    (64, 256, 256, 32, 32, "os", 5087), (64, 256, 256, 32, 32, "ws", 10111), (256, 512, 512, 32, 32, "os", 73471),
    (256, 512, 512, 128, 128, "ws", 10207), (256, 1024, 1024, 32, 32, "os", 278015)])
def test_closed_forms_reproduce_scalesim_runs(m, k, n, rows, cols, name, cycles):
    assert dataflows.get(name).scalesim_cycles(m, n, k, rows, cols) == cycles


def test_only_output_stationary_streams_k_without_preloading():
    assert {name for name, d in DATAFLOWS.items() if not d.preloads} == {"os"}
    assert {name for name, d in DATAFLOWS.items() if d.transposed} == {"is"}
