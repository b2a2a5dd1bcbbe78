"""Fixtures shared by the RTL tests."""

import pytest

from tests.needs import need_simulator, unavailable


@pytest.fixture
def need_icarus():
    """Icarus Verilog present (``apt-get install -y iverilog``; scripts/setup.sh installs it)."""
    need_simulator("icarus", "apt-get install -y iverilog, or run scripts/setup.sh")


@pytest.fixture(scope="session")
def smollm2_layer0():
    """``(model, {op name: op})``: SmolLM2-135M and the layer-0 weight GEMMs of a 3-token real trace.

    Without the fetched model the test is skipped, except under CI (``CI`` set), where it fails.
    """
    from workloads import fetch
    from workloads.models import load_model, real_trace

    if not fetch.is_cached("smollm2-135m"):
        unavailable("SmolLM2-135M not fetched (accel workloads fetch smollm2-135m)")
    model = load_model("smollm2-135m")
    trace = real_trace("smollm2-135m", tokens=3, model=model)
    return model, {op.name: op for op in trace.ops if op.layer == 0 and op.weight_ref}
