"""The grid search: combinations, the table, train.py --grid end to end, and Ctrl-C."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from digitboard.cli import train
from digitboard.train import fit as training
from digitboard.data.images import load_data
from digitboard.train.fit import fit_trial, learning_rate, stop_from_epoch, TrainConfig
from digitboard.train.grid import grid_points, sort_rows, table_text, write_csv

from conftest import assert_one_line_error, snapshot
from test_config import parse, write_config

GRID = {"arch": "small", "epochs": 1, "batch_size": 8, "augment": False, "validation_split": 0.25}


def run_grid(config: Path, data: Path, out: Path, *more):
    return CliRunner().invoke(train.main, [str(a) for a in ("--config", config, "--grid",
                                                            "--data", data, "--out", out, *more)])


def read_csv(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- pure parts


def test_grid_points_are_every_combination_last_axis_fastest():
    points = grid_points({"learning_rate": [0.1, 0.2], "filters": [8, 16, 32]})
    assert len(points) == 6
    assert points[:4] == [{"learning_rate": 0.1, "filters": 8}, {"learning_rate": 0.1, "filters": 16},
                          {"learning_rate": 0.1, "filters": 32}, {"learning_rate": 0.2, "filters": 8}]


ROWS = [{"learning_rate": 0.001, "arch": "/x/net.json", "val_accuracy": 0.9, "val_loss": 0.3,
         "best_epoch": 2, "epochs_run": 2, "seconds": 10.0},
        {"learning_rate": 0.01, "arch": "small", "val_accuracy": 0.95, "val_loss": 0.2,
         "best_epoch": 1, "epochs_run": 2, "seconds": 12.5},
        {"learning_rate": 0.1, "arch": "small", "val_accuracy": 0.96, "val_loss": 0.25,
         "best_epoch": 1, "epochs_run": 2, "seconds": 9.0},
        {"learning_rate": 0.2, "arch": "small", "val_accuracy": 0.97, "val_loss": 0.2,
         "best_epoch": 1, "epochs_run": 2, "seconds": 9.5}]


def test_table_sorts_by_validation_loss_then_accuracy(tmp_path):
    rows = sort_rows(ROWS)
    # the loss that training checkpoints on ranks, not the accuracy (0.1 has the second best)
    assert [r["learning_rate"] for r in rows] == [0.2, 0.01, 0.1, 0.001]
    lines = table_text(rows, ["learning_rate", "arch"]).splitlines()
    assert lines[0].split() == ["learning_rate", "arch", "val_accuracy", "val_loss", "best_epoch",
                                "epochs_run", "seconds"]
    assert lines[2].split() == ["0.01", "small", "0.9500", "0.2000", "1", "2", "12.5"]
    assert lines[4].split()[:2] == ["0.001", "net.json"]  # network files by name
    assert len({len(line) for line in lines}) == 1        # aligned columns
    write_csv(rows, ["learning_rate", "arch"], tmp_path / "grid.csv")
    saved = read_csv(tmp_path / "grid.csv")
    assert [r["learning_rate"] for r in saved] == ["0.2", "0.01", "0.1", "0.001"]
    assert saved[3]["arch"] == "/x/net.json"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.csv"]  # written in one step, nothing left over


def test_a_trial_stops_as_training_does(make_class_folder):
    """A grid trial stops on validation loss, patient only once the learning rate has decayed
    (stop_from_epoch), like a full training, and scores the epoch a training keeps."""
    # a learning rate this small leaves validation loss exactly flat after epoch 1
    data = load_data(str(make_class_folder(n_train=6, n_test=0)), echo=lambda _: None)
    data.groups = None
    config = TrainConfig(arch="small", epochs=20, patience=2, learning_rate=1e-9, batch_size=16,
                         validation_split=0.25, augment=False)
    start = stop_from_epoch(learning_rate(config, steps_per_epoch=1), 1, 20)
    assert 10 <= start <= 15
    scores = fit_trial(data, config)
    assert scores["epochs_run"] == start + 3 and scores["best_epoch"] == start + 1  # flat: the first counted


# ---------------------------------------------------------------- train.py --grid


def test_two_combination_grid_writes_its_table_and_best_config(make_class_folder, tmp_path):
    data = make_class_folder(n_train=6, n_test=1)
    config = write_config(tmp_path / "grid.toml", {**GRID, "learning_rate": [1e-9, 0.01]})
    out = tmp_path / "runs" / "best.keras"
    result = run_grid(config, data, out)
    assert result.exit_code == 0, result.output
    assert "grid: 2 combinations of learning_rate on 18 images, up to 1 epochs each" in result.output

    rows = read_csv(out.parent / "grid.csv")
    assert list(rows[0]) == ["learning_rate", "val_accuracy", "val_loss", "best_epoch", "epochs_run",
                             "seconds"]
    assert len(rows) == 2 and {float(r["learning_rate"]) for r in rows} == {1e-9, 0.01}
    losses = [float(r["val_loss"]) for r in rows]
    assert losses == sorted(losses)  # lowest validation loss first
    table = [line.split() for line in result.output.splitlines() if line.startswith(" ") or
             line.startswith("learning_rate")]
    assert table[0][0] == "learning_rate" and [float(r[0]) for r in table[1:3]] == \
           [float(r["learning_rate"]) for r in rows]
    assert not out.exists()  # a grid trains, scores and forgets: no model is written

    best = json.loads((out.parent / "grid-best.json").read_text())
    assert best["learning_rate"] == float(rows[0]["learning_rate"]) and best["arch"] == "small"
    assert best["out"] == "best.keras" and "limit" not in best and "grid" not in best
    assert f"python train.py --config {out.parent / 'grid-best.json'}" in result.output
    assert f"best: --learning-rate {rows[0]['learning_rate']} (val loss {losses[0]:.4f}, " \
           f"val accuracy {float(rows[0]['val_accuracy']):.4f})" in result.output
    # the best combination re-runs as a normal training from that file
    params = parse("--config", out.parent / "grid-best.json")
    assert params["learning_rate"] == best["learning_rate"] and params["data"] == str(data)
    assert params["out"] == out and params["validation_split"] == 0.25 and params["limit"] is None


def test_command_line_value_replaces_a_grid_axis(tmp_path):
    config = write_config(tmp_path / "grid.toml", {"learning_rate": [0.1, 0.2], "dropout": [0.1, 0.2]})
    ctx = train.main.make_context("train.py", ["--config", str(config), "--grid", "--dropout", "0.5"])
    assert train.grid_axes(ctx, True, config) == {"learning_rate": [0.1, 0.2]}
    assert ctx.params["dropout"] == 0.5


def test_grid_uses_a_5000_image_subset_unless_limited(monkeypatch, tmp_path, make_class_folder):
    monkeypatch.setattr(train, "GRID_LIMIT", 10)  # the class folder holds 18 images
    config = write_config(tmp_path / "grid.toml", {**GRID, "dropout": [0.1]})
    data = make_class_folder(n_train=6, n_test=0)
    for more, n in (([], 10), (["--limit", 12], 12)):
        result = run_grid(config, data, tmp_path / "m.keras", *more)
        assert result.exit_code == 0, result.output
        assert f"grid: 1 combinations of dropout on {n} images" in result.output


# ---------------------------------------------------------------- Ctrl-C


@pytest.fixture
def interrupt_after(monkeypatch):
    """interrupt_after(n): the (n + 1)-th grid combination raises KeyboardInterrupt, as Ctrl-C would."""

    def install(n: int) -> list:
        calls = []
        real = training.fit_trial

        def fit_or_interrupt(data, config):
            calls.append(config)
            if len(calls) > n:
                raise KeyboardInterrupt
            return real(data, config)

        monkeypatch.setattr(training, "fit_trial", fit_or_interrupt)
        return calls

    return install


def test_ctrl_c_stops_the_grid_and_keeps_the_partial_table(make_class_folder, tmp_path, interrupt_after):
    calls = interrupt_after(1)
    config = write_config(tmp_path / "grid.toml", {**GRID, "learning_rate": [0.01, 0.02, 0.03]})
    out = tmp_path / "runs" / "best.keras"
    result = run_grid(config, make_class_folder(n_train=6, n_test=0), out)
    assert len(calls) == 2  # the second combination was interrupted, the third never began
    assert result.exit_code == 0, result.output
    assert "interrupted: 1 of 3 combinations done" in result.output
    rows = read_csv(out.parent / "grid.csv")
    assert [float(r["learning_rate"]) for r in rows] == [0.01]
    assert any(line.split()[:1] == ["0.01"] for line in result.output.splitlines())  # printed too
    assert json.loads((out.parent / "grid-best.json").read_text())["learning_rate"] == 0.01
    assert not list(out.parent.glob("*.partial*"))


def test_ctrl_c_in_the_first_combination_overwrites_nothing(make_class_folder, tmp_path, interrupt_after):
    interrupt_after(0)
    out = tmp_path / "models" / "best.keras"
    out.parent.mkdir()
    (out.parent / "grid.csv").write_text("learning_rate,val_accuracy\n0.5,0.9\n")
    before = snapshot(out.parent)
    config = write_config(tmp_path / "grid.toml", {**GRID, "learning_rate": [0.01, 0.02]})
    result = run_grid(config, make_class_folder(n_train=6, n_test=0), out)
    assert result.exit_code == 2, result.output  # not bad input: what the search said before stays
    assert result.output.endswith("\nError: stopped before the first combination finished: nothing was written\n")
    assert snapshot(out.parent) == before


def test_a_network_that_does_not_fit_fails_before_the_search(make_class_folder, tmp_path, interrupt_after):
    calls = interrupt_after(99)
    (tmp_path / "flat.json").write_text(json.dumps([{"Conv2D": {"filters": 4, "kernel_size": 3}}]))
    config = write_config(tmp_path / "grid.toml", {**GRID, "arch": ["small", "flat.json"]})
    result = run_grid(config, make_class_folder(n_train=6, n_test=0), tmp_path / "runs" / "best.keras")
    assert_one_line_error(result, "flat.json: the classifier gets (26, 26, 4) per image")
    assert calls == [] and not list((tmp_path / "runs").rglob("*"))  # its folder made, as --out is checked
