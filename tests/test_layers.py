"""The layering rules of docs/ARCHITECTURE.md, checked in fresh interpreters."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import genai_tui.cli
import genai_tui.service


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nsys.stderr.write('@@MODULES@@ ' + ' '.join(sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stderr.rpartition("@@MODULES@@ ")[2].split())


SERVICE_MODULES = sorted(
    f"genai_tui.service.{m.name}" for m in pkgutil.iter_modules(genai_tui.service.__path__)
)


@pytest.mark.parametrize("module", SERVICE_MODULES)
def test_service_imports_neither_textual_nor_torch(module: str) -> None:
    loaded = _modules_after(f"import {module}")
    assert "textual" not in loaded
    assert "torch" not in loaded, f"{module} imports torch at import time"


def test_app_module_paints_before_torch() -> None:
    loaded = _modules_after("import genai_tui.tui.app; genai_tui.tui.app.GenaiApp")
    assert "textual" in loaded
    assert "torch" not in loaded


def _subcommand_paths() -> list[list[str]]:
    import typer.main

    paths: list[list[str]] = [[]]

    def walk(command, prefix: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.append(prefix + [name])
            walk(sub, prefix + [name])

    walk(typer.main.get_command(genai_tui.cli.app), [])
    return paths


@pytest.mark.parametrize("path", _subcommand_paths(), ids=lambda p: " ".join(p) or "root")
def test_help_imports_neither_torch_nor_the_app(path: list[str]) -> None:
    code = (
        "import sys\nfrom genai_tui.cli import app\n"
        f"try:\n    app({path + ['--help']!r})\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
    )
    loaded = _modules_after(code)
    assert "torch" not in loaded
    assert "genai_tui.tui.app" not in loaded
    assert "textual.app" not in loaded


def test_unknown_option_is_one_line_exit_2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "genai_tui", "--no-such-option"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("genai-tui: error:")
    assert "Traceback" not in out.stderr


def test_models_never_import_images() -> None:
    """models/ is pure PyTorch: data (images/) is the service's business (issue 13/15)."""
    import ast
    from pathlib import Path

    import genai_tui.models as models

    for path in Path(models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith("genai_tui.images") for n in names), path.name
