"""Write docs/results.md from the shipped model's card and the benchmarks' JSON.

    python benchmarks/report.py           # rewrite docs/results.md
    python benchmarks/report.py --check   # exit 1 when docs/results.md is out of date

A benchmark is one file in docs/results/: {"command": "...", "date": "YYYY-MM-DD",
"result": {...}, "note": "..." (optional)}. `result` is the JSON line the command printed
(evaluate.py --json, board.py --stats, benchmarks/personalise.py --json) or, for train.py,
figures from the run's card. To add a figure: run the command, save its line there, run
this script. Pure stdlib, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "best.keras"
RESULTS = ROOT / "docs" / "results"
PAGE = ROOT / "docs" / "results.md"
EVALUATE_COMMANDS = ("mnist", "images", "strokes", "numbers", "bench")
SCRIPTS = {"board.py": "board", "personalise.py": "teach", "train.py": "train"}


def card_path(model: Path = MODEL) -> Path:
    """The model's card: in its companion folder, `best.<first 12 hex digits of the .keras
    file's SHA-256>/card.json`, else beside it (`best.json`)."""
    if model.exists():
        tag = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
        if (model.with_name(f"{model.stem}.{tag}") / "card.json").exists():
            return model.with_name(f"{model.stem}.{tag}") / "card.json"
    return model.with_suffix(".json")


def kind(command: str) -> str:
    """What a command measures: evaluate.py's command, or the script that ran."""
    words = [word.rsplit("/", 1)[-1] for word in command.split()]
    if "evaluate.py" in words:
        return next((w for w in words[words.index("evaluate.py"):] if w in EVALUATE_COMMANDS), "other")
    return next((SCRIPTS[w] for w in words if w in SCRIPTS), "other")


def model_of(command: str) -> str:
    words = command.split()
    return words[words.index("--model") + 1] if "--model" in words[:-1] else "models/best.keras"


def pct(x, digits: int = 2) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f} %"


def seconds(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 120 else f"{s:g} s"


def table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows), ""]


def notes(entries: list[dict]) -> list[str]:
    lines = [f"- {note}" for note in dict.fromkeys(e["note"] for e in entries if e.get("note"))]
    return lines + [""] if lines else []


def when(e: dict) -> list[str]:
    return [e["date"], f"`{e['command']}`"]


def shipped(card: dict, path: Path) -> list[str]:
    lines = ["## The shipped model", ""]
    if not card:
        return lines + [f"No card at `{path.relative_to(ROOT)}`.", ""]
    members, strokes = card.get("members", []), card.get("stroke_model", {})
    rows = [["trained on", " + ".join([card.get("data", "?"), *card.get("extra", [])])
             + f": {card.get('train_samples', 0):,} images, {card.get('validation_samples', 0):,} for validation"],
            ["network", f"{max(len(members), 1)} × `{card.get('config', {}).get('arch')}`, "
                        f"{card.get('parameters', 0):,} parameters, {card.get('size_bytes', 0) / 1e6:.1f} MB"],
            ["MNIST test (Keras)", f"{pct(card.get('test_accuracy'))}, loss {card.get('test_loss')}"],
            *([f"member, seed {m['seed']}", f"{pct(m['test_accuracy'])}, kept epoch {m['best_epoch']} "
               f"of {m['epochs_run']}"] for m in members)]
    if strokes:
        rows.append(["stroke model", f"{strokes['parameters']:,} parameters, {strokes['paths']:,} paths from "
                                     f"{strokes['pen_digits']:,} pen digits, weight {strokes['weight']}"])
    if "wall_time_s" in card:
        rows.append(["training time", f"{seconds(card['wall_time_s'])} in all"
                     + (f" (the stroke model {seconds(strokes['wall_time_s'])})" if "wall_time_s" in strokes else "")
                     + f" on {card.get('device', '?')}, {card.get('platform', '?')}"])
    return lines + [f"From its card, `{path.relative_to(ROOT)}`: trained {card.get('date', '?')[:10]} by "
                    f"`{card.get('command', '?')}`.", ""] + table(["", ""], rows)


def mnist(entries: list[dict]) -> list[str]:
    rows = [[f"`{model_of(e['command'])}`", pct(r.get("accuracy")), r.get("loss", "–"), f"{r.get('n', 0):,}", *when(e)]
            for e in entries for r in [e["result"]]]
    return ["## Test sets, read through `read()`", ""] + table(
        ["model", "accuracy", "loss", "images", "date", "command"], rows) + notes(entries)


def strokes(entries: list[dict]) -> list[str]:
    def drawn(r):
        return f"{r['size']} px, brush {r['brush'] or 'of the board'}" + (", off-centre" if r["off_centre"] else "")
    rows = [[f"`{model_of(e['command'])}`", f"{r['n']:,}", drawn(r), pct(r.get("accuracy")),
             pct(r.get("sure_accuracy")), pct(r.get("canvas_only_accuracy")),
             pct(r.get("canvas_only_sure_accuracy")), *when(e)] for e in entries for r in [e["result"]]]
    return ["## Pen digits, drawn on a board canvas and read back", "",
            "With strokes, as the board reads; from the canvas alone, as a picture is read. "
            "\"Sure, right\": of the readings at confidence 0.9 or more, the share that is right.", ""] + table(
        ["model", "digits", "drawn", "with strokes", "sure, right", "canvas only", "sure, right", "date", "command"],
        rows) + notes(entries)


def numbers(entries: list[dict]) -> list[str]:
    lines = ["## Numbers written close together", ""]
    for e in entries:
        r = e["result"]
        lines += [f"{r['digits']}-digit numbers, digits {r['height']} px tall, brush {r['brush']}, read by "
                  f"`{model_of(e['command'])}`; {e['date']}, `{e['command']}`:", ""]
        lines += table(["gap (share of the digit height)", "read exactly, with strokes", "canvas only", "numbers"],
                       [[f"{row['gap']:g}", pct(row["with_strokes"], 1), pct(row["canvas_only"], 1), row["n"]]
                        for row in r["numbers"]])
    return lines


def speed(entries: list[dict]) -> list[str]:
    rows = []
    for e in entries:
        r, model = e["result"], f"`{model_of(e['command'])}`"
        if kind(e["command"]) == "bench":
            rows.append(["`read()`, one digit on a 960×600 canvas, canvas only", model,
                         f"p50 {r['read_ms_p50']} ms, p99 {r['read_ms_p99']} ms ({r.get('device', '?')}); the "
                         f"seed's per-digit `model.predict` p50 {r['predict_ms_p50']} ms", *when(e)])
        elif kind(e["command"]) == "numbers":
            rows += [[f"`read()`, a {r['digits']}-digit number, with strokes", model,
                      f"p50 {r['read_ms_p50']} ms, p99 {r['read_ms_p99']} ms", *when(e)],
                     [f"`read()`, a {r['digits']}-digit number, canvas only", model,
                      f"p50 {r['canvas_only_ms_p50']} ms, p99 {r['canvas_only_ms_p99']} ms", *when(e)]]
        else:
            rows.append(["the board, drawing with live reading", model, f"{r['fps_mean']} fps mean, frame p99 "
                         f"{r['frame_ms_p99']} ms, a reading p50 {r['read_ms_p50']} ms", *when(e)])
    return ["## Speed", ""] + table(["what", "model", "figure", "date", "command"], rows) + notes(entries)


def teach(entries: list[dict]) -> list[str]:
    lines = ["## Teaching a personal model", ""]
    for e in entries:
        r = e["result"]
        lines += [f"`{r['model']}` taught each writer's first {r['k']} drawings of each digit, then read that "
                  f"writer's other digits; {e['date']}, `{e['command']}`:", ""]
        lines += table(["writer", "before", "after", "teach", "MNIST test after"],
                       [[w["writer"], pct(w["before"], 1), pct(w["after"], 1), seconds(w["teach_s"]), pct(w["mnist_after"])]
                        for w in r["writers"]] + [["mean", pct(r["mean"]["before"]), pct(r["mean"]["after"]), "",
                                                   pct(r["mean"]["mnist_after"])]])
    return lines + notes(entries)


def train(entries: list[dict]) -> list[str]:
    rows = [[pct(r["test_accuracy"]), f"{r['best_epoch']} of {r['epochs_run']}", seconds(r["training_s"]),
             r.get("too_short_to_trust") or "no", *when(e)] for e in entries for r in [e["result"]]]
    return ["## Training runs", ""] + table(
        ["MNIST test", "kept epoch", "training", "too short to trust", "date", "command"], rows) + notes(entries)


def other(entries: list[dict]) -> list[str]:
    rows = [[f"`{json.dumps(e['result'], sort_keys=True)}`", *when(e)] for e in entries]
    return ["## Other benchmarks", ""] + table(["result", "date", "command"], rows) + notes(entries)


def page(card: dict, path: Path, benchmarks: list[dict]) -> str:
    of = {}
    for e in benchmarks:
        of.setdefault(kind(e["command"]), []).append(e)
    sections = [(mnist, of.get("mnist", []) + of.get("images", [])), (strokes, of.get("strokes", [])),
                (numbers, of.get("numbers", [])), (speed, of.get("bench", []) + of.get("numbers", []) + of.get("board", [])),
                (teach, of.get("teach", [])), (train, of.get("train", [])), (other, of.get("other", []))]
    lines = ["# Results", "",
             "Written by `python benchmarks/report.py` from the shipped model's card and the benchmarks in "
             "`docs/results/`: edit those, not this page. Each figure carries the date it was measured and the "
             "command that gives it, run from the repository root. `runs/split3/best.keras` is the shipped "
             "recipe trained without pendigits writers 25–30, whose digits (`runs/pendigits-holdout.tra`) then "
             "measure handwriting the model never saw; [evaluation.md](evaluation.md) says how to make both.", ""]
    lines += shipped(card, path)
    for section, entries in sections:
        lines += section(entries) if entries else []
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/results.md is out of date")
    check = parser.parse_args().check
    path = card_path()
    card = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    benchmarks = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("*.json"))]
    text = page(card, path, benchmarks)
    if check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python benchmarks/report.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
