"""Fuzz the PE-spec parser: strings and YAML mappings parse or raise ConfigError, within bounds."""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from accel import pe

from .harness import EDGE_NUMBERS, EDGE_STRINGS, fuzz_tests, values

NAMES = pe.names()
FIELDS = sorted({f.name for n in NAMES for f in dataclasses.fields(pe.variant(n))})
PARAM_TEXT = st.sampled_from(EDGE_STRINGS) | st.text(max_size=12) | st.sampled_from([str(v) for v in EDGE_NUMBERS])


@st.composite
def spec_strings(draw) -> str:
    """``NAME[:key=value,...]`` with real and bogus names, keys and values, and stray separators."""
    name = draw(st.sampled_from(NAMES) | st.text(max_size=12))
    items = draw(st.lists(st.tuples(st.sampled_from(FIELDS) | st.text(max_size=6), PARAM_TEXT), max_size=6))
    sep = draw(st.sampled_from([",", ", ", ",,", ";"]))
    body = sep.join(f"{k}{draw(st.sampled_from(['=', '==', ':', '']))}{v}" for k, v in items)
    return f"{name}:{body}" if items or draw(st.booleans()) else name


spec_mappings = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(NAMES) | st.text(max_size=8)},
                          optional={f: values(max_leaves=4) for f in FIELDS}),
    st.dictionaries(st.sampled_from(NAMES), values(FIELDS, max_leaves=6), min_size=1, max_size=2),
    values(["name", *NAMES, *FIELDS], max_leaves=10),
)

test_pe_spec, test_pe_spec_long = fuzz_tests(
    "pe_spec", st.one_of(spec_strings(), st.text(max_size=100), spec_mappings), pe.parse)
