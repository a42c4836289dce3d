"""Shared test set-up. Keep torch to one thread per test worker (pytest -n 2)."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NO_COLOR", "")
os.environ.pop("NO_COLOR", None)
