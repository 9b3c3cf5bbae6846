"""How fast the kiosk's supervisor brings a killed board back: kill -9 the board, time until
the board that replaces it reads.

    python benchmarks/kiosk_restart.py --repeats 3

Each repeat starts `python board.py --kiosk` as a user would (headless with
SDL_VIDEODRIVER=dummy unless a DISPLAY is set), waits for the supervisor's line "the board
reads" (the board's first reading: the model has loaded and read the canvas), kills the board
child with SIGKILL, and waits for the next "the board reads"; then stops the supervisor with
SIGTERM. A fresh supervisor each time, so every kill is the first failure (no back-off).
The supervisor notices a beat within 0.1 s, so the times are at most that much long.

Prints one JSON line: restart_s (kill to the new board's first reading), detect_s (kill to
the supervisor's restart line), cold_start_s (launch to the first reading), their medians and
maxima, the target (3 s), the load average and the date. Target: restart_s <= 3 s.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 3.0
STARTED = re.compile(r"the board started \(pid (\d+)\)")


def lines_of(process: subprocess.Popen) -> queue.Queue:
    """The process's stderr lines as (time.monotonic(), line), read on a thread."""
    lines = queue.Queue()

    def read():
        for line in process.stderr:
            lines.put((time.monotonic(), line.rstrip("\n")))
        lines.put((time.monotonic(), None))

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue, pattern: str, timeout: float) -> tuple[float, re.Match]:
    """The time and match of the next line that matches `pattern`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            at, line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise click.ClickException(f"no line matching {pattern!r} within {timeout:g} s") from None
        if line is None:
            raise click.ClickException(f"the kiosk ended before a line matching {pattern!r}")
        if match := re.search(pattern, line):
            return at, match


def one_restart(board_args: list[str], log: Path, timeout: float) -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("SDL_VIDEODRIVER", "dummy")
    env.setdefault("SDL_AUDIODRIVER", "dummy")
    launched = time.monotonic()
    kiosk = subprocess.Popen([sys.executable, str(ROOT / "board.py"), "--kiosk", "--log", str(log), *board_args],
                             env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        lines = lines_of(kiosk)
        _, started = wait_for(lines, STARTED.pattern, timeout)
        first_read, _ = wait_for(lines, r"the board reads", timeout)
        killed = time.monotonic()
        os.kill(int(started.group(1)), signal.SIGKILL)
        detected, _ = wait_for(lines, r"restart 1: ", timeout)
        wait_for(lines, STARTED.pattern, timeout)
        read_again, reads = wait_for(lines, r"the board reads, ([\d.]+) s after its start", timeout)
        return {"cold_start_s": first_read - launched, "detect_s": detected - killed,
                "restart_s": read_again - killed, "board_start_to_reading_s": float(reads.group(1))}
    finally:
        kiosk.send_signal(signal.SIGTERM)
        try:
            kiosk.wait(10)
        except subprocess.TimeoutExpired:
            kiosk.kill()


@click.command(context_settings={"show_default": True})
@click.option("--repeats", type=click.IntRange(1, 50), default=3, help="Kiosks started, each killed once.")
@click.option("--timeout", type=click.FloatRange(1), default=60.0, help="Seconds to wait for each step.")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Passed to board.py (default: its own).")
def main(repeats, timeout, model):
    """Kill -9 the kiosk's board and time until its successor reads; one JSON line."""
    board_args = ["--model", model] if model else []
    runs = []
    with tempfile.TemporaryDirectory(prefix="kiosk-restart-") as folder:
        for n in range(repeats):
            runs.append(one_restart(board_args, Path(folder) / "kiosk.log", timeout))
            print(f"repeat {n + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items()), file=sys.stderr)
    summary = {"date": time.strftime("%Y-%m-%d"),
               "command": "python benchmarks/kiosk_restart.py " + " ".join(sys.argv[1:]),
               "display": "SDL dummy" if not os.environ.get("DISPLAY") else f"X {os.environ['DISPLAY']}",
               "cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0], "repeats": repeats,
               "target_s": TARGET_S}
    for key in runs[0]:
        values = [round(run[key], 3) for run in runs]
        summary[key] = values
        summary[f"{key}_median"] = round(statistics.median(values), 3)
        summary[f"{key}_max"] = max(values)
    summary["meets_target"] = summary["restart_s_max"] <= TARGET_S
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
