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


def _package_modules(package: str) -> list[str]:
    """Every module under ``package`` (sub-packages included), found without importing them."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return sorted(m.name for m in pkgutil.walk_packages(spec.submodule_search_locations,
                                                        package + "."))


def _first_importer(modules: list[str], banned: str) -> str | None:
    """The first of ``modules`` whose import (in order, in a fresh interpreter) loads
    ``banned``, or None."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"    if {banned!r} in sys.modules:\n"
        "        sys.stderr.write('@@FIRST@@ ' + name)\n"
        "        break\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stderr.rpartition("@@FIRST@@ ")[2] or None


TUI_MODULES = _package_modules("genai_tui.tui")


def test_every_tui_module_imports_without_torch() -> None:
    """The app imports panes lazily, so importing tui.app alone would not see a pane
    that imports torch at import time: import every module under tui/."""
    assert any(m.startswith("genai_tui.tui.panes.") for m in TUI_MODULES)
    assert _first_importer(TUI_MODULES, "torch") is None


@pytest.mark.parametrize("package", ["genai_tui.models", "genai_tui.sampling",
                                     "genai_tui.tokenizers", "genai_tui.images"])
def test_lower_layers_never_import_textual(package: str) -> None:
    modules = [package, *_package_modules(package)]
    assert _first_importer(modules, "textual") is None


def _imports(path) -> list[str]:
    """Every module name a file imports, at the top or inside functions."""
    import ast

    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def test_tui_never_imports_torch_or_the_models() -> None:
    """Panes talk to the service; torch and the models stay behind it, even in
    imports inside functions (which the import-time check above cannot see)."""
    from pathlib import Path

    import genai_tui.tui as tui

    files = sorted(Path(tui.__file__).parent.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        for name in _imports(path):
            assert not (name == "torch" or name.startswith("torch.")), path
            assert not name.startswith("genai_tui.models"), path


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
