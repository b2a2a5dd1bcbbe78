import dataclasses
import hashlib
import json
import os
import subprocess
import sys

import pytest

from cost_models.explore.hashing import HASH_SCHEMA
from cost_models.explore.records import Point, Workload

pytestmark = pytest.mark.unit
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _independent_hash(point: Point) -> str:
    """SHA-256 of the canonical JSON written out by hand (record type names, sorted keys, lists)."""
    d = {"__type__": "Point", **dataclasses.asdict(point)}
    d["workload"] = {"__type__": "Workload", **d["workload"]}
    d["workload"]["phases"] = list(d["workload"]["phases"])
    text = json.dumps({"hash_schema": HASH_SCHEMA, "config": d}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_hash_is_sha256_of_canonical_json():
    p = Point(Workload(model="m", prefill_tokens=7), "mixpe_w4a8:group_size=32", array_rows=16,
              kv_cache_format="bfp12", dequant_count=4)
    assert p.key == _independent_hash(p)


def test_hash_separates_every_field():
    base = Point(Workload(), "a")
    variants = [dataclasses.replace(base, pe="b"), dataclasses.replace(base, array_rows=16),
                dataclasses.replace(base, dram_bandwidth_bytes_per_cycle=64.0),
                dataclasses.replace(base, workload=Workload(decode_tokens=3)),
                dataclasses.replace(base, kv_cache_format="bfp16"),
                dataclasses.replace(base, kv_sort_k_channels=True)]
    keys = {base.key, *(v.key for v in variants)}
    assert len(keys) == len(variants) + 1
    assert Point(Workload(), "a").key == base.key
    assert base.arith().key != base.key


def test_hash_is_stable_across_processes():
    code = ("from cost_models.explore.records import Point, Workload; "
            "print(Point(Workload(model='m'), 'p:g=1', array_cols=8).key)")
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip())
    assert outs == {Point(Workload(model="m"), "p:g=1", array_cols=8).key}
