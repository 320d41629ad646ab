"""course_utils.bench: one JSON line per task, with what was measured and where."""

from __future__ import annotations

import json

import pytest

from course_utils import bench

TANH_CNN_3 = 18_354 - 7 * 33  # the tutorial's CNN with 3 outputs, not 10: 7 fewer of 32 weights and a bias


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


def test_bench_article_records_set_the_measurement_beside_the_article_s(fake_mirror, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    record = bench.run("article-cifar3")  # the tutorial's 100 epochs, here on 6 fake images
    assert record["epochs"] == 100 and record["article"] == {"train_accuracy": 0.9295, "val_accuracy": 0.8713}
    assert record["gap"]["val_accuracy"] == pytest.approx(record["value"] - 0.8713, abs=1e-4)
    assert record["gap"]["train_accuracy"] == pytest.approx(record["train_accuracy_eval"] - 0.9295, abs=1e-4)
    assert len(record["val_accuracy_by_epoch"]) == 100 and record["parameters"] == TANH_CNN_3
    short = bench.MnistRecipe.first_network(train_subset=None)  # the fake mirror holds 3 training digits
    monkeypatch.setattr(bench.MnistRecipe, "first_network", classmethod(lambda cls: short))
    record = bench.run("article-mnist")
    assert record["article"] == 0.9841 and record["gap"] == pytest.approx(record["value"] - 0.9841, abs=1e-4)
    assert record["epochs"] == 1 and 0 <= record["value"] <= 1


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


def test_saved_records_say_where_and_when_and_read_back(fake_mirror, monkeypatch, tmp_path, capsys):
    from course_utils import runtime

    monkeypatch.setattr(runtime, "results_path", lambda task: tmp_path / "results" / f"{task}.json")
    assert bench.main(["data-mnist", "--save"]) == 0  # the folder is made when missing
    record = runtime.measured("data-mnist", tmp_path / "results" / "data-mnist.json")
    assert set(runtime.RESULT_KEYS) <= record.keys() and record["images"] == 5
    assert record["measured_at"][:2] == "20" and record["commit"]  # an ISO date; a commit, or "unknown"
    assert json.loads(capsys.readouterr().out) == record  # the line printed is the record saved
    (tmp_path / "blocked").write_text("a file where the folder should be")
    monkeypatch.setattr(runtime, "results_path", lambda task: tmp_path / "blocked" / f"{task}.json")
    assert bench.main(["data-mnist", "--save"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not save the record") and "Traceback" not in err


@pytest.mark.parametrize("content, message", [
    ("not json", "is not a benchmark record"),
    ("[1, 2]", "expected a JSON object"),
    ('{"task": "cifar"}', "lacks"),
    ('{"task": "mnist", "metric": 1, "value": 1, "machine": 1, "torch": 1, "commit": 1, "measured_at": 1}',
     "the record of task 'mnist', not 'cifar'"),
])
def test_a_damaged_record_raises(tmp_path, content, message):
    from course_utils import runtime

    (tmp_path / "r.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        runtime.measured("cifar", tmp_path / "r.json")
    with pytest.raises(FileNotFoundError, match="course_utils.bench cifar --save"):
        runtime.measured("cifar", tmp_path / "missing.json")
