"""Grid search: every list of values in a config is an axis; each combination trains briefly
and is scored on its validation split by the validation loss that training checkpoints and
stops on; the table of results sorts best (lowest loss) first."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from . import fit
from .config import write_config
from ..data.images import as_model_input, Dataset
from ..common.errors import UserError
from ..common.files import write_text
from .networks import build_model
from .fit import TrainConfig

SCORES = ("val_accuracy", "val_loss", "best_epoch", "epochs_run", "seconds")
TABLE_NAME = "grid.csv"
BEST_NAME = "grid-best.json"


def grid_points(axes: dict[str, list]) -> list[dict]:
    """Every combination of the axes' values, the last axis changing fastest."""
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def check_points(data: Dataset, base: TrainConfig, points: list[dict]) -> None:
    """Build each combination's network once, so one that does not fit the data fails now,
    not an hour into the search."""
    shape = as_model_input(data.x_train[:1]).shape[1:]
    seen = set()
    for point in points:
        c = replace(base, **point)
        if (c.arch, c.filters, c.kernel_size, c.units) not in seen:
            seen.add((c.arch, c.filters, c.kernel_size, c.units))
            build_model(c.arch, shape, len(data.class_names), c.dropout, c.filters, c.kernel_size, c.units)


@dataclass
class GridResult:
    rows: list[dict]          # one per finished combination, lowest validation loss first
    total: int                # combinations in the grid
    interrupted: bool = False


def sort_rows(rows: list[dict]) -> list[dict]:
    """Lowest validation loss first; equal losses by higher validation accuracy."""
    return sorted(rows, key=lambda r: (r["val_loss"], -r["val_accuracy"]))


def run_grid(data: Dataset, base: TrainConfig, points: Iterable[dict], total: int,
             on_row: Callable[[list[dict]], None] = lambda rows: None) -> GridResult:
    """Train every combination with `fit.fit_trial`; `on_row(sorted rows)` after each one
    (to save the table as it grows). Ctrl-C stops the search and keeps the rows so far."""
    rows = []
    try:
        for point in points:
            rows.append({**point, **fit.fit_trial(data, replace(base, **point))})
            on_row(sort_rows(rows))
    except KeyboardInterrupt:
        return GridResult(sort_rows(rows), total, interrupted=True)
    return GridResult(sort_rows(rows), total)


def table_text(rows: list[dict], axes: list[str]) -> str:
    """The rows as an aligned text table, one column per axis then the scores."""
    columns = [*axes, *SCORES]
    cells = [[_cell(row[c], c) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value, column: str) -> str:
    if column in ("val_accuracy", "val_loss"):
        return f"{value:.4f}"
    if column == "seconds":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return Path(value).name if isinstance(value, str) and value.endswith(".json") else str(value)


def write_csv(rows: list[dict], axes: list[str], path: Path) -> None:
    """The table as CSV, replaced in one step so a reader never sees half of it."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[*axes, *SCORES], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, text.getvalue())


def search(data: Dataset, base: TrainConfig, axes: dict[str, list], out: Path, sources: dict,
           progress: Callable[[list[dict]], Iterable[dict]] = iter,
           echo: Callable[[str], None] = print) -> GridResult:
    """Train every combination of the axes on `data`; the table goes to grid.csv beside `out`
    after each one, and the best combination to grid-best.json, a config for a full training
    of `sources` (the settings naming the data: data, extra, …) into `out`. `progress(points)`
    iterates over the combinations (a progress bar). UserError when none finished."""
    folder = out.parent
    points = grid_points(axes)
    check_points(data, base, points)
    names = list(axes)
    echo(f"grid: {len(points)} combinations of {', '.join(names)} on "
         f"{len(data.x_train)} images, up to {base.epochs} epochs each")

    def save(rows):
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(rows, names, folder / TABLE_NAME)

    result = run_grid(data, base, progress(points), len(points), on_row=save)
    if not result.rows:
        raise UserError("stopped before the first combination finished: nothing was written")
    best = {key: result.rows[0][key] for key in names}
    write_config(folder / BEST_NAME, {**sources, **asdict(replace(base, **best)), "out": str(out)})
    return result


def as_flags(point: dict) -> str:
    """A combination as train.py options: `--learning-rate 0.003 --no-augment`."""
    return " ".join(f"--{k.replace('_', '-')} {v}" if not isinstance(v, bool)
                    else f"--{'' if v else 'no-'}{k.replace('_', '-')}" for k, v in point.items())
