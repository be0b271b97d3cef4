"""sim.regress: shards planned and seeded reproducibly, run on Dask, merged once each — also when a
worker dies in the middle of a shard — with the shards' coverage merged bin by bin."""

import os
import signal
import time

import pytest
import yaml

from sim.regress.coverage import bins_summary, merge as merge_coverage
from sim.regress.engine import connect, merge, run_shards
from sim.regress.plan import BLOCKS, block_named, plan_shards, shard_seed
from sim.regress.shard import LOG_DIR

BLOCK = "vmac-fp4-x1"            # the smallest bench build


def test_shards_cover_the_vectors_with_distinct_reproducible_seeds():
    block = block_named(BLOCK)
    shards = plan_shards(block, 25_000, base_seed=7, shard_vectors=10_000)
    assert [s.vectors for s in shards] == [10_000, 10_000, 5_000]
    assert len({s.seed for s in shards}) == 3
    assert [s.seed for s in shards] == [shard_seed(BLOCK, 7, i) for i in range(3)]
    assert plan_shards(block, 25_000, 8, 10_000)[0].seed != shards[0].seed
    assert shards[2].command().endswith("--seed 7 --shard 2") and f"{BLOCK} --vectors 25000" in shards[2].command()


def test_a_shards_stimulus_asks_for_at_least_its_vectors():
    for block in BLOCKS:
        stimulus = block.stimulus(1_234)
        if block.unit == "rows":
            assert stimulus["trials"] * stimulus["rows"] >= 1_234
        elif block.unit == "blocks":
            assert stimulus["trials"] * stimulus["rows"] * stimulus["channels"] // 16 >= 1_234
        else:
            assert stimulus["random_ops"] == 1_234


@pytest.mark.parametrize("vectors, shard_vectors, match", [(0, None, "vectors=0"), (10, -1, "shard_vectors=-1"),
                                                          (True, None, "vectors=True")])
def test_bad_vector_counts_are_refused(vectors, shard_vectors, match):
    with pytest.raises(ValueError, match=match):
        plan_shards(block_named(BLOCK), vectors, 1, shard_vectors)


def test_an_unknown_block_is_named():
    with pytest.raises(ValueError, match="'vmac-fp6-x1'"):
        block_named("vmac-fp6-x1")


def _coverage_file(path, hits):
    item = {"type": "CoverPoint", "size": len(hits), "coverage": sum(1 for n in hits.values() if n),
            "cover_percentage": 0.0, "weight": 1, "at_least": 1, "bins:_hits": hits}
    path.write_text(yaml.dump({"top": {"type": "CoverItem", "size": len(hits), "coverage": item["coverage"],
                                       "cover_percentage": 0.0}, "top.point": item}))
    return path


def test_coverage_of_shards_adds_up_bin_by_bin(tmp_path):
    a = _coverage_file(tmp_path / "a.yml", {"x": 2, "y": 0, "z": 0})
    b = _coverage_file(tmp_path / "b.yml", {"x": 1, "y": 3, "z": 0})
    merged = merge_coverage([a, b, tmp_path / "never-written.yml"], tmp_path / "merged.yml")
    summary = bins_summary(merged)
    assert (summary["bins"], summary["hit"]) == (3, 2)
    assert summary["items"]["top.point"]["missed"] == ["z"]
    assert yaml.safe_load(merged.read_text())["top.point"]["bins:_hits"] == {"x": 3, "y": 3, "z": 0}
    assert merge_coverage([], tmp_path / "none.yml") is None


def _kill_a_worker_mid_simulation(client, started, timeout=300):
    """SIGKILL the process of a worker whose shard has begun simulating (its simulation log is
    written, so the configuration's build is complete); that worker's pid."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        simulating = {log.name.split("-")[-2] for log in LOG_DIR.glob(f"{BLOCK}-*.log")
                      if not log.name.endswith(".runner.log") and log.stat().st_mtime >= started}
        for worker, keys in client.processing().items():
            if any(str(key).split("-")[-2] in simulating for key in keys):
                os.kill(pids[worker], signal.SIGKILL)
                return pids[worker]
        time.sleep(0.2)
    raise AssertionError("no shard began simulating")


@pytest.mark.parametrize("kill", [False, True], ids=["two-workers", "a-worker-killed-mid-shard"])
def test_shards_run_on_a_local_cluster_and_merge_once_each(kill, tmp_path):
    shards = plan_shards(block_named(BLOCK), 2_400, base_seed=3, shard_vectors=1_200)
    started = time.time() - 1
    with connect(workers=2) as client:
        if kill:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(1) as pool:
                running = pool.submit(run_shards, client, shards, False)
                killed = _kill_a_worker_mid_simulation(client, started)
                records = running.result(timeout=600)
        else:
            records = run_shards(client, shards, progress=False)
    assert sorted(r["index"] for r in records) == [0, 1]          # each shard once
    assert all(not r["problems"] for r in records), records
    if kill:
        assert killed not in {r["pid"] for r in records}          # rerun elsewhere, not lost
    summary = merge(records, tmp_path)[BLOCK]
    assert summary["shards"] == 2 and summary["mismatches"] == 0 and not summary["failed"]
    assert summary["vectors"] >= 2_400
    assert summary["coverage"]["bins"] > 0 and summary["coverage_file"]


def test_the_summary_keeps_the_last_run_of_every_block(tmp_path):
    import json
    from sim.regress.engine import write_summary
    write_summary({"a": {"vectors": 1}, "b": {"vectors": 2}}, 10.0, 2, tmp_path)
    path = write_summary({"b": {"vectors": 3}}, 5.0, 1, tmp_path)
    blocks = json.loads(path.read_text())["blocks"]
    assert (blocks["a"]["vectors"], blocks["a"]["run_wall_s"], blocks["a"]["run_workers"]) == (1, 10.0, 2)
    assert (blocks["b"]["vectors"], blocks["b"]["run_wall_s"], blocks["b"]["run_workers"]) == (3, 5.0, 1)
    assert blocks["b"]["commit"] and blocks["b"]["date"]
