"""Default locations, taken from the package so they work from any directory."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
MODELS_DIR = ROOT / "models"
DATASETS_DIR = ROOT / "datasets"
REPORTS_DIR = ROOT / "reports"
RUNS_DIR = ROOT / "runs"                     # a folder per training: what `python train.py` writes
DEFAULT_MODEL = MODELS_DIR / "best.keras"
PERSONAL_MODEL = MODELS_DIR / "mine.keras"   # what the board's T and `train.py teach` write
MNIST_CACHE = DATASETS_DIR / "mnist.npz"
DRAWN_DIR = DATASETS_DIR / "drawn"
DEMO_DIR = PACKAGE / "board" / "demo"
SHARED_PENDIGITS = ROOT.parent / "shared" / "pendigits" / "pendigits-orig.tra"
