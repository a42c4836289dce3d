"""Shared test set-up. Keep torch to one thread per test worker (pytest -n 2)."""

import os

import pytest
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


@pytest.fixture(autouse=True)
def _display_profile_reset():
    """Each test starts from the default display profile (true colour, Unicode):
    an app sets the process-wide profile from its terminal (TERM=xterm gives 16
    colours), and the pure renderers read it."""
    from genai_tui import display

    display.configure()
    yield
    display.configure()
