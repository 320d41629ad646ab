"""course_utils.bench: one JSON line per task, with what was measured and where."""

from __future__ import annotations

import json

import pytest

from course_utils import bench


def test_bench_unknown_task():
    with pytest.raises(ValueError, match="unknown benchmark task 'nope'; valid tasks"):
        bench.run("nope")
    with pytest.raises(SystemExit):
        bench.main(["nope"])


def test_bench_prints_one_json_line(fake_mirror, capsys):
    assert bench.main(["data-mnist"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["task"] == "data-mnist" and record["images"] == 5  # 3 train + 2 test in the fake mirror
    assert {"metric", "value", "seconds", "device", "profile", "machine"} <= record.keys()


def test_bench_cifar_decode_uses_a_fresh_cache(fake_mirror, monkeypatch):
    import os

    before = os.environ["COURSE_CACHE_DIR"]
    record = bench.run("data-cifar10")
    assert record["images"] == 20 and record["cached_load_seconds"] <= record["seconds"] + 1
    assert os.environ["COURSE_CACHE_DIR"] == before  # restored


def test_bench_mnist_record(fake_mirror, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    record = bench.run("mnist")
    assert record["task"] == "mnist" and record["parameters"] == 7_634 and record["epochs"] == 3
    assert 0.0 <= record["value"] <= 1.0 and record["profile"] == "cpu" and record["seconds"] >= 0


def test_bench_cli_turns_errors_into_one_line(monkeypatch, capsys):
    from course_utils.data import DatasetNotFoundError

    def missing():
        raise DatasetNotFoundError("CIFAR-10 is not in the mirror; set COURSE_DATA_DIR")

    def bug():
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(bench.TASKS, "cifar", missing)
    monkeypatch.setitem(bench.TASKS, "mnist", bug)
    assert bench.main(["cifar"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: CIFAR-10 is not in the mirror") and "Traceback" not in err
    assert bench.main(["mnist"]) == 1
    assert capsys.readouterr().err.strip() == "error: unexpected ZeroDivisionError: division by zero"
