"""benchmarks/report.py: docs/results.md is up to date, and each kind of benchmark renders
from a small sample (files in a temporary folder, through --results and --page)."""

import json
import subprocess
import sys

from benchmarks import report

SCRIPT = report.ROOT / "benchmarks" / "report.py"

SAMPLES = {
    "strokes-unipen-sites": {
        "command": "python evaluate.py --model runs/u/best.keras strokes runs/unipen-holdout-sites.tra",
        "result": {"accuracy": 0.98, "canvas_only_accuracy": 0.99, "split": 0.0, "rejected": 0.01,
                   "canvas_only_split": 0.0, "canvas_only_rejected": 0.0, "sure_share": 0.98, "sure_accuracy": 1.0,
                   "unsure_shown": 0.01, "canvas_only_sure_share": 0.97, "canvas_only_sure_accuracy": 1.0,
                   "canvas_only_unsure_shown": 0.0, "n": 100, "size": 360, "brush": None, "off_centre": False}},
    "junk": {
        "command": "python evaluate.py junk",
        "result": {"n": 376, "files": ["benchmarks/data/junk-marks.json"], "brush": None, "rejected": 0.95,
                   "canvas_only_rejected": 0.92, "made_rejected": 1.0, "made_canvas_only_rejected": 0.93,
                   "written_rejected": 0.87, "written_canvas_only_rejected": 0.91, "ring_digit_read": 0.975,
                   "ring_canvas_only_digit_read": 0.175,
                   "kinds": [{"kind": "arrow", "n": 12, "rejected": 1.0, "digits": 0.0, "canvas_only_rejected": 0.58,
                              "canvas_only_digits": 0.42},
                             {"kind": "made marks", "n": 12, "rejected": 1.0, "digits": 0.0,
                              "canvas_only_rejected": 0.58, "canvas_only_digits": 0.42},
                             {"kind": "ring_around", "n": 40, "rejected": 0.0, "digits": 1.0,
                              "canvas_only_rejected": 0.1, "canvas_only_digits": 1.2, "digit_read": 0.975,
                              "canvas_only_digit_read": 0.175}]}},
    "mnist-read": {
        "command": "python evaluate.py mnist --read",
        "result": {"accuracy": 0.9931, "split": 0.0012, "rejected": 0.0004, "n": 10000, "read": True,
                   "per_class": []}},
    "numbers": {
        "command": "python evaluate.py numbers runs/unipen-holdout-writers.tra --json",
        "result": {"numbers": [{"gap": 0.0, "with_strokes": 0.99, "canvas_only": 0.8, "n": 300, "more_digits": 0.003,
                                "fewer_digits": 0.007, "canvas_only_more_digits": 0.05,
                                "canvas_only_fewer_digits": 0.15}],
                   "digits": 3, "height": 180, "brush": 12, "read_ms_p50": 2.1, "read_ms_p99": 3.0,
                   "canvas_only_ms_p50": 3.7, "canvas_only_ms_p99": 48.0}},
    "kiosk": {
        "command": "python benchmarks/kiosk_restart.py --repeats 3",
        "result": {"date": "2026-12-02", "command": "python benchmarks/kiosk_restart.py --repeats 3",
                   "display": "SDL dummy", "cpus": 2, "load_average_1min": 0.5, "repeats": 3, "target_s": 3.0,
                   "cold_start_s": [2.5, 2.6, 2.4], "cold_start_s_median": 2.5, "cold_start_s_max": 2.6,
                   "detect_s": [0.1, 0.1, 0.1], "detect_s_median": 0.1, "detect_s_max": 0.1,
                   "restart_s": [2.1, 2.2, 2.3], "restart_s_median": 2.2, "restart_s_max": 2.3,
                   "board_start_to_reading_s": [2.0, 2.1, 2.2], "board_start_to_reading_s_median": 2.1,
                   "board_start_to_reading_s_max": 2.2, "meets_target": True}},
    "soak": {
        "command": "SDL_VIDEODRIVER=dummy python benchmarks/soak_board.py --model models/best.keras",
        "result": {"strokes": 100000, "frames": 100012, "seconds": 900.5, "reads": 80000,
                   "rss_after_warmup_mb": 610.2, "rss_end_mb": 615.0, "growth_mb": 4.8, "work_ms_max": 40.1,
                   "frame_ms_max": 55.3, "model_switches": 200, "rss_trace": [[1000, 611.0]]}},
    "board": {
        "command": "SDL_VIDEODRIVER=dummy python board.py --replay docs/407.json --stats",
        "result": {"frames": 600, "fps_mean": 60.0, "frame_ms_p99": 20.0, "frame_ms_max": 31.5, "read_ms_p50": 3.5,
                   "work_ms_p99": 10.0, "work_ms_max": 12.0, "first_frame_s": 1.9, "first_reading_s": 2.4,
                   "peak_rss_mb": 640.5}},
}


def written(tmp_path, samples: dict) -> str:
    folder = tmp_path / "results"
    folder.mkdir()
    for name, sample in samples.items():
        (folder / f"{name}.json").write_text(json.dumps({"date": "2026-12-02", **sample}))
    page = tmp_path / "results.md"
    assert report.main(["--results", str(folder), "--page", str(page)]) == 0
    assert report.main(["--results", str(folder), "--page", str(page), "--check"]) == 0
    return page.read_text()


def row_of(text: str, *cells: str) -> str:
    """The one table row holding every cell."""
    rows = [line for line in text.splitlines() if line.startswith("|") and all(f"| {c} |" in line for c in cells)]
    assert len(rows) == 1, (cells, rows)
    return rows[0]


def test_the_page_is_up_to_date():
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_check_says_when_the_page_is_out_of_date(tmp_path):
    text = written(tmp_path, {"mnist-read": SAMPLES["mnist-read"]})
    (tmp_path / "results.md").write_text(text + "\nedited by hand\n")
    assert report.main(["--results", str(tmp_path / "results"), "--page", str(tmp_path / "results.md"),
                        "--check"]) == 1


def test_each_new_benchmark_renders_with_its_date_and_command(tmp_path):
    text = written(tmp_path, SAMPLES)
    for sample in SAMPLES.values():
        assert f"| 2026-12-02 | `{sample['command']}` |" in text or f"2026-12-02, `{sample['command']}`" in text
    # strokes: the set named from its file; split / rejected with strokes and canvas only
    row_of(text, "UNIPEN sites imp and tos (held out: other tablets)", "98.00 %", "0.00 % / 1.00 %", "0.00 % / 0.00 %")
    # junk: the summary (strokes / canvas only), then one row per kind, groups in bold
    assert "## Marks that are not digits" in text
    row_of(text, "376", "95.0 % / 92.0 %", "100.0 % / 93.0 %", "87.0 % / 91.0 %", "97.5 % / 17.5 %")
    row_of(text, "arrow", "12", "100.0 %", "58.0 %", "0.00", "0.42")
    row_of(text, "**made marks**", "12")
    row_of(text, "ring around a digit", "40")
    # mnist --read: through read() on a board canvas, with split and rejected
    assert "read by `read()`" in row_of(text, "99.31 %", "0.12 %", "0.04 %", "10,000")
    # numbers: more and fewer digits per gap
    assert "numbers written from UNIPEN writers (20 % of them, held out)" in text
    row_of(text, "0", "99.0 %", "80.0 %", "0.3 % / 5.0 %", "0.7 % / 15.0 %", "300")
    # speed: the kiosk's restart, the soak, the board's start and memory
    assert "median 2.2 s, at most 2.3 s in 3 kills (target 3.0 s: met)" in text
    soak = row_of(text, "`models/best.keras`", "2026-12-02", f"`{SAMPLES['soak']['command']}`")
    assert "100,000 strokes" in soak and "growth 4.8 MB" in soak and "slowest frame 55.3 ms flip to flip" in soak
    assert "first reading 2.4 s; peak memory 640.5 MB" in text and "(slowest 31.5 ms)" in text


def test_a_card_that_reads_not_a_digit_and_names_its_sources():
    card = {"date": "2026-12-02T10:00:00+00:00", "command": "python train.py", "class_names": [*"0123456789",
            "not a digit"], "not_a_digit_marks": 5000,
            "sources": {"pendigits-orig.tra": "UCI pen digits; CC BY 4.0", "marks": "made by digitboard.train.marks"}}
    text = report.page(card, report.ROOT / "models" / "best.json", [])
    assert "| reads | the ten digits and \"not a digit\", taught by 5,000 marks that are not digits |" in text
    assert "- `pendigits-orig.tra`: UCI pen digits; CC BY 4.0\n- `marks`: made by digitboard.train.marks\n" in text
