import pytest

from cost_models.explore.provenance import provenance_line

pytestmark = pytest.mark.unit
H = "M. Horowitz, 'Computing's energy problem', ISSCC 2014, 45 nm, 0.9 V"


def test_a_repeated_citation_is_written_once_and_referred_to_by_number():
    sources = [f"horowitz45 table at 45.0 nm; {H}; {H} (not node-scaled: off-chip); fit to {H}",
               f"horowitz45 table at 45.0 nm; Nangate cells; {H}"]
    line = provenance_line(sources)
    assert line.count("Horowitz") == 1
    assert line == ("horowitz45 table at 45.0 nm; [1]; [1] (not node-scaled: off-chip); fit to [1]; Nangate cells. "
                    f"Sources: [1] {H}")


def test_sources_without_repeats_are_joined_unchanged():
    assert provenance_line(["a; b", "b; c"]) == "a; b; c"
