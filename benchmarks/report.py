"""Write docs/results.md from the shipped model's card and the benchmarks' JSON.

    python benchmarks/report.py           # rewrite docs/results.md
    python benchmarks/report.py --check   # exit 1 when docs/results.md is out of date

A benchmark is one file in docs/results/: {"command": "...", "date": "YYYY-MM-DD",
"result": {...}, "note": "..." (optional)}. `result` is the JSON line the command printed
(evaluate.py --json, board.py --stats, benchmarks/personalise.py --json,
benchmarks/kiosk_restart.py, benchmarks/soak_board.py) or, for train.py, figures from the
run's card. To add a figure: run the command, save its line there, run this script. Pure
stdlib, so it runs before anything is installed. --results and --page point it elsewhere
(the tests write a page from sample files in a temporary folder).
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
EVALUATE_COMMANDS = ("mnist", "images", "strokes", "junk", "numbers", "bench")
SCRIPTS = {"board.py": "board", "personalise.py": "teach", "train.py": "train", "kiosk_restart.py": "kiosk",
           "soak_board.py": "soak"}
# Pen files by name (benchmarks/split_pendigits.py and split_unipen.py write the held-out ones).
PEN_SETS = {"pendigits-orig.tra": "pendigits, writers 1–30",
            "pendigits-train.tra": "pendigits, writers 1–24",
            "pendigits-holdout.tra": "pendigits writers 25–30 (held out)",
            "unipen-train.tra": "UNIPEN, the writers and sites not held out",
            "unipen-holdout-writers.tra": "UNIPEN writers (20 % of them, held out)",
            "unipen-holdout-sites.tra": "UNIPEN sites imp and tos (held out: other tablets)"}
JUNK_GROUPS = ("made marks", "letters and symbols", "all junk")  # evaluation.junk_figures' rows of a group
RING = "ring_around"                                               # the kind of a ring around a digit


def card_path(model: Path = MODEL) -> Path:
    """The model's card: in its companion folder, `best.<first 12 hex digits of the .keras
    file's SHA-256>/card.json`, else beside it (`best.json`)."""
    if model.exists():
        tag = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
        if (model.with_name(f"{model.stem}.{tag}") / "card.json").exists():
            return model.with_name(f"{model.stem}.{tag}") / "card.json"
    return model.with_suffix(".json")


def shown(path: Path) -> Path:
    """A path as the page names it: from the repository root when within it."""
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def kind(command: str) -> str:
    """What a command measures: evaluate.py's command, or the script that ran."""
    words = [word.rsplit("/", 1)[-1] for word in command.split()]
    if "evaluate.py" in words:
        return next((w for w in words[words.index("evaluate.py"):] if w in EVALUATE_COMMANDS), "other")
    return next((SCRIPTS[w] for w in words if w in SCRIPTS), "other")


def model_of(command: str) -> str:
    words = command.split()
    return words[words.index("--model") + 1] if "--model" in words[:-1] else "models/best.keras"


def pen_set(command: str) -> str:
    """The pen files a command reads, named by PEN_SETS (else by file name)."""
    files = [w.rsplit("/", 1)[-1] for w in command.split() if w.endswith((".tra", ".txt"))]
    return " + ".join(PEN_SETS.get(f, f"`{f}`") for f in files) or "?"


def pct(x, digits: int = 2) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f} %"


def both(r: dict, key: str, prefix: str = "", digits: int = 1) -> str:
    """<prefix><key> with strokes / <prefix>canvas_only_<key> from the canvas alone; "–" when neither."""
    strokes, canvas = r.get(prefix + key), r.get(f"{prefix}canvas_only_{key}")
    return "–" if strokes is None and canvas is None else f"{pct(strokes, digits)} / {pct(canvas, digits)}"


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
        return lines + [f"No card at `{shown(path)}`.", ""]
    members, strokes = card.get("members", []), card.get("stroke_model", {})
    rows = [["trained on", " + ".join([card.get("data", "?"), *card.get("extra", [])])
             + f": {card.get('train_samples', 0):,} images, {card.get('validation_samples', 0):,} for validation"],
            ["network", f"{max(len(members), 1)} × `{card.get('config', {}).get('arch')}`, "
                        f"{card.get('parameters', 0):,} parameters, {card.get('size_bytes', 0) / 1e6:.1f} MB"],
            ["MNIST test (Keras)", f"{pct(card.get('test_accuracy'))}, loss {card.get('test_loss')}"],
            *([f"member, seed {m['seed']}", f"{pct(m['test_accuracy'])}, kept epoch {m['best_epoch']} "
               f"of {m['epochs_run']}"] for m in members)]
    if len(card.get("class_names", [])) == 11:
        rows.append(["reads", "the ten digits and \"not a digit\"" + (
            f", taught by {card['not_a_digit_marks']:,} marks that are not digits" if "not_a_digit_marks" in card else "")])
    if strokes:
        rows.append(["stroke model", f"{strokes['parameters']:,} parameters, {strokes['paths']:,} paths from "
                                     f"{strokes['pen_digits']:,} pen digits"
                                     + (f" and {strokes['marks']:,} marks" if strokes.get("marks") else "")
                                     + f", weight {strokes['weight']}"])
    if "wall_time_s" in card:
        rows.append(["training time", f"{seconds(card['wall_time_s'])} in all"
                     + (f" (the stroke model {seconds(strokes['wall_time_s'])})" if "wall_time_s" in strokes else "")
                     + f" on {card.get('device', '?')}, {card.get('platform', '?')}"])
    sources = [f"- `{name}`: {text}" for name, text in card.get("sources", {}).items()]
    return lines + [f"From its card, `{shown(path)}`: trained {card.get('date', '?')[:10]} by "
                    f"`{card.get('command', '?')}`.", ""] + table(["", ""], rows) + (
        ["Its sources, from the card:", "", *sources, ""] if sources else [])


def mnist(entries: list[dict]) -> list[str]:
    def read_as(e):
        if kind(e["command"]) == "images":
            return "class-folder test split, at the model's image size"
        if e["result"].get("read"):
            return "MNIST test, each pasted 300 px tall on a 960×600 board canvas and read by `read()`"
        return "MNIST test, the 28×28 images"
    rows = [[f"`{model_of(e['command'])}`", read_as(e), pct(r.get("accuracy")), r.get("loss", "–"),
             pct(r.get("split")), pct(r.get("rejected")), f"{r.get('n', 0):,}", *when(e)]
            for e in entries for r in [e["result"]]]
    return ["## Test sets", "",
            "Split: read as several digits. Rejected: read as \"not a digit\", or through `read()` no digit "
            "found.", ""] + table(
        ["model", "read as", "accuracy", "loss", "split", "rejected", "images", "date", "command"],
        rows) + notes(entries)


def strokes(entries: list[dict]) -> list[str]:
    def drawn(r):
        return f"{r['size']} px, brush {r['brush'] or 'of the board'}" + (", off-centre" if r["off_centre"] else "")
    def split(r, prefix=""):
        if r.get(f"{prefix}split") is None and r.get(f"{prefix}rejected") is None:
            return "–"
        return f"{pct(r.get(f'{prefix}split'))} / {pct(r.get(f'{prefix}rejected'))}"
    rows = [[f"`{model_of(e['command'])}`", pen_set(e["command"]), f"{r['n']:,}", drawn(r), pct(r.get("accuracy")),
             pct(r.get("sure_accuracy")), split(r), pct(r.get("canvas_only_accuracy")),
             pct(r.get("canvas_only_sure_accuracy")), split(r, "canvas_only_"), *when(e)]
            for e in entries for r in [e["result"]]]
    return ["## Pen digits, drawn on a board canvas and read back", "",
            "With strokes, as the board reads; from the canvas alone, as a picture is read. "
            "\"Sure, right\": of the readings at confidence 0.9 or more, the share that is right. "
            "\"Split / rejected\": the share read as several digits / as none. A held-out set is split off by "
            "`benchmarks/split_pendigits.py` or `split_unipen.py`, for a model trained without it.", ""] + table(
        ["model", "set", "digits", "drawn", "with strokes", "sure, right", "split / rejected", "canvas only",
         "sure, right", "split / rejected", "date", "command"], rows) + notes(entries)


def junk(entries: list[dict]) -> list[str]:
    def pen(r):
        return "each mark's own" if r.get("brush") is None else f"{r['brush']} px"
    rows = [[f"`{model_of(e['command'])}`", f"{r['n']:,}", pen(r), both(r, "rejected"), both(r, "rejected", "made_"),
             both(r, "rejected", "written_"), both(r, "digit_read", "ring_"), *when(e)]
            for e in entries for r in [e["result"]]]
    lines = ["## Marks that are not digits", "",
             "Scribbles, shapes, letters and symbols, each alone on a board canvas, and rings drawn around a "
             "digit; each figure with strokes / from the canvas alone. Rejected: no digit read. For a ring "
             "around a digit, the share where exactly that digit is read.", ""]
    lines += table(["model", "marks", "pen", "all rejected", "made marks rejected", "letters and symbols rejected",
                    "ring around a digit: that digit read", "date", "command"], rows)
    for e in entries:
        r = e["result"]
        lines += [f"Per kind, {r['n']:,} marks from {', '.join(f'`{f}`' for f in r.get('files', []))} read by "
                  f"`{model_of(e['command'])}`; {e['date']}, `{e['command']}`:", ""]
        lines += table(["kind", "marks", "rejected, with strokes", "canvas only", "digits read, with strokes",
                        "canvas only"],
                       [[f"**{k['kind']}**" if k["kind"] in JUNK_GROUPS else
                         "ring around a digit" if k["kind"] == RING else k["kind"], k["n"], pct(k["rejected"], 1),
                         pct(k["canvas_only_rejected"], 1), f"{k['digits']:.2f}", f"{k['canvas_only_digits']:.2f}"]
                        for k in r.get("kinds", [])])
    return lines + notes(entries)


def numbers(entries: list[dict]) -> list[str]:
    lines = ["## Numbers written close together", "",
             "More digits than written: a digit split, or a piece read; fewer: one rejected, or two joined "
             "(with strokes / canvas only).", ""]
    for e in entries:
        r = e["result"]
        lines += [f"{r['digits']}-digit numbers written from {pen_set(e['command'])}, digits {r['height']} px tall, brush "
                  f"{r['brush']}, read by `{model_of(e['command'])}`; {e['date']}, `{e['command']}`:", ""]
        lines += table(["gap (share of the digit height)", "read exactly, with strokes", "canvas only",
                        "more digits", "fewer digits", "numbers"],
                       [[f"{row['gap']:g}", pct(row["with_strokes"], 1), pct(row["canvas_only"], 1),
                         both(row, "more_digits"), both(row, "fewer_digits"), row["n"]] for row in r["numbers"]])
    return lines  # a numbers note is shown under Speed, beside its read times


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
        elif kind(e["command"]) == "kiosk":
            rows.append(["the kiosk: kill -9 of the board to its successor's first reading", model,
                         f"median {r['restart_s_median']} s, at most {r['restart_s_max']} s in {r['repeats']} kills "
                         f"(target {r['target_s']} s: {'met' if r['meets_target'] else 'missed'}); a cold start reads "
                         f"in {r['cold_start_s_median']} s (median); {r['display']}, {r['cpus']} CPUs, load "
                         f"{r['load_average_1min']:.2f}", *when(e)])
        elif kind(e["command"]) == "soak":
            rows.append([f"the board, a soak of {r['strokes']:,} strokes with clears, undos, Look inside and "
                         f"{r['model_switches']} model switches", model,
                         f"memory {r['rss_after_warmup_mb']} MB after the warm-up, {r['rss_end_mb']} MB at the end (growth "
                         f"{r['growth_mb']} MB); slowest frame {r['frame_ms_max']} ms flip to flip, longest frame "
                         f"work {r['work_ms_max']} ms; "
                         f"{r['frames']:,} frames, {r['reads']:,} readings in {seconds(r['seconds'])}", *when(e)])
        else:
            inside = ", Look inside open" if "--inside" in e["command"].split() else ""
            rows.append([f"the board, drawing with live reading{inside}", model, f"{r['fps_mean']} fps mean, frame p99 "
                         f"{r['frame_ms_p99']} ms" + (f" (slowest {r['frame_ms_max']} ms)" if "frame_ms_max" in r else "")
                         + f", a reading p50 {r['read_ms_p50']} ms", *when(e)])
            if r.get("first_reading_s") is not None:
                rows.append([f"the board, from its process's start{inside}", model, f"first frame {r.get('first_frame_s')} s, "
                             f"first reading {r['first_reading_s']} s; peak memory {r.get('peak_rss_mb')} MB resident",
                             *when(e)])
    return ["## Speed", ""] + table(["what", "model", "figure", "date", "command"], rows) + notes(entries)


def teach(entries: list[dict]) -> list[str]:
    lines = ["## Teaching a personal model", ""]
    for e in entries:
        r = e["result"]
        lines += [f"`{model_of(e['command'])}` taught each writer's first {r['k']} drawings of each digit, then read that "
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
                (junk, of.get("junk", [])), (numbers, of.get("numbers", [])),
                (speed, [e for k in ("bench", "numbers", "board", "kiosk", "soak") for e in of.get(k, [])]),
                (teach, of.get("teach", [])), (train, of.get("train", [])), (other, of.get("other", []))]
    lines = ["# Results", "",
             "Written by `python benchmarks/report.py` from the shipped model's card and the benchmarks in "
             "`docs/results/`: edit those, not this page. Each figure carries the date it was measured and the "
             "command that gives it, run from the repository root. The shipped model was trained without "
             "pendigits writers 25–30, UNIPEN sites imp and tos and a fifth of the other UNIPEN writers, "
             "whose digits (`runs/*-holdout*.tra`, written by `benchmarks/split_pendigits.py` and "
             "`split_unipen.py`) then measure handwriting it never saw; [evaluation.md](evaluation.md) says "
             "how.", ""]
    lines += shipped(card, path)
    for section, entries in sections:
        lines += section(entries) if entries else []
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the page is out of date")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of benchmark JSON files")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page to write")
    args = parser.parse_args(argv)
    path = card_path()
    card = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    benchmarks = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(args.results.glob("*.json"))]
    text = page(card, path, benchmarks)
    if args.check:
        if not args.page.exists() or args.page.read_text(encoding="utf-8") != text:
            print(f"{shown(args.page)} is out of date: run python benchmarks/report.py", file=sys.stderr)
            return 1
        return 0
    args.page.write_text(text, encoding="utf-8")
    print(f"wrote {shown(args.page)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
