"""Shared test set-up. Keep torch to one thread per test worker (pytest -n 2)."""

import os

from hypothesis import settings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.pop("NO_COLOR", None)

# Timing belongs in benchmarks: no per-example deadline on a shared 2-core box.
# Under CI the examples are derandomized, so a run is repeatable; locally
# hypothesis keeps exploring new examples.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
