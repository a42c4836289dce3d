"""Missing or corrupt files under assets/: one clear line naming the file and
the command that rebuilds it; a pickle renamed to .safetensors is never run;
other models keep working (issue 12)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genai_tui.paths import REPO_ROOT

ASSETS = REPO_ROOT / "assets"


@pytest.fixture()
def assets(tmp_path, monkeypatch) -> Path:
    """A private copy of the bundled assets that the test may break."""
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS, copy, ignore=shutil.ignore_patterns("checkpoint"))
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(copy))
    return copy


def cli(*args: str, env_assets: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GENAI_TUI_ASSETS": str(env_assets)}
    return subprocess.run([sys.executable, "-m", "genai_tui", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("genai-tui: error")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


@pytest.mark.parametrize("damage,expect", [
    (lambda a: (a / "lm" / "model.safetensors").unlink(), "model.safetensors' are missing"),
    (lambda a: truncate(a / "lm" / "model.safetensors"), "model.safetensors' are corrupt"),
    (lambda a: (a / "lm" / "config.json").write_text("garbage"), "config.json' is not valid JSON"),
    (lambda a: (a / "lm" / "card.json").write_text("{"), "card.json' is not valid JSON"),
    (lambda a: (a / "lm" / "config.json").write_text('{"n_layer": "x"}'), "config.json"),
], ids=["weights-deleted", "weights-truncated", "config-garbage", "card-garbage", "config-wrong"])
def test_broken_lm_names_the_file_and_the_rebuild_command(assets, damage, expect) -> None:
    damage(assets)
    line = one_line(cli("generate", "hi", "-n", "2", env_assets=assets))
    assert expect in line
    assert "'genai-tui train lm --bundled'" in line and "git checkout -- assets/lm" in line
    assert "None" not in line


@pytest.mark.parametrize("name,command,rebuild", [
    ("vae", ["vae", "sample"], "genai-tui train vae --bundled"),
    ("vae2d", ["vae", "sample", "-m", "vae2d"], "genai-tui train vae --latent-dim 2 --bundled"),
    ("diffusion", ["diffusion", "sample", "--steps", "2"], "genai-tui train diffusion --bundled"),
    ("clip", ["clip", "search", "a seven"], "genai-tui train clip --bundled"),
])
@pytest.mark.parametrize("how", ["truncated", "deleted", "bad-card"])
def test_broken_image_models_name_the_file_and_the_rebuild_command(assets, name, command,
                                                                  rebuild, how) -> None:
    folder = assets / name
    if how == "truncated":
        truncate(folder / "model.safetensors")
    elif how == "deleted":
        (folder / "model.safetensors").unlink()
    else:
        (folder / "card.json").write_text("{not json", encoding="utf-8")
    line = one_line(cli(*command, env_assets=assets))
    assert str(folder) in line and f"'{rebuild}'" in line


def test_a_pickle_renamed_to_safetensors_is_never_executed(assets, tmp_path) -> None:
    marker = tmp_path / "PWNED"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    payload = pickle.dumps(Exploit())
    assert b"system" in payload  # a real exploit: unpickling it would run the command
    for name in ("vae", "lm", "classifier", "diffusion"):
        (assets / name / "model.safetensors").write_bytes(payload)
    for command in (["vae", "sample"], ["generate", "hi", "-n", "1"],
                    ["diffusion", "sample", "--steps", "2"]):
        line = one_line(cli(*command, env_assets=assets))
        assert "model.safetensors" in line
    assert not marker.exists()


def test_a_broken_judge_is_said_not_silently_dropped(assets) -> None:
    truncate(assets / "classifier" / "model.safetensors")
    done = cli("vae", "sample", "-n", "2", "--json", env_assets=assets)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["judge"] is None and data["labels"] is None
    assert "classifier" in data["judge_error"] and "genai-tui train classifier" in data[
        "judge_error"]
    assert "no judge labels" in done.stderr
    done = cli("diffusion", "sample", "--n", "2", "--steps", "2", "--json", env_assets=assets)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["digits"] is None and "classifier" in data["judge_error"]


def test_one_broken_model_leaves_the_others_working(assets) -> None:
    truncate(assets / "vae" / "model.safetensors")
    assert cli("vae", "sample", env_assets=assets).returncode == 2
    done = cli("vae", "sample", "-m", "vae2d", "-n", "2", "--json", env_assets=assets)
    assert done.returncode == 0, done.stderr
    assert cli("generate", "def", "-n", "2", env_assets=assets).returncode == 0


def test_vae_sample_json_carries_the_labels_its_help_promises() -> None:
    done = subprocess.run([sys.executable, "-m", "genai_tui", "vae", "sample", "-n", "6",
                           "--json"], capture_output=True, text=True, timeout=120)
    data = json.loads(done.stdout)
    assert len(data["labels"]) == 6 and len(data["z"]) == 6
    assert all(lab is None or 0 <= lab <= 9 for lab in data["labels"])
    assert len(data["judge"]["confidences"]) == 6
    judged = sum(lab is not None for lab in data["labels"])
    assert judged == data["judge"]["judged_digits"]
