"""The test suite, laid out like `genai_tui/`: one folder per layer (`cli/`,
`service/`, `models/`, ...) and `tui/panes/` for the panes; shared fixtures
in `tests/fixtures/` (``from tests.fixtures.lm import make_model_dir``).

Run from the repository root: ``pytest -q -n 2`` (`make test`)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (for tests that start a subprocess or read app.tcss)."""
