"""Write SVG screenshots of the app's panes into docs/ (used by the README).

Usage: python docs/screenshots.py [PANE_ID ...]   (default: every pane)
Each pane is opened at 100x30, given time for its workers (model loading,
a first generation), and exported with Textual's own SVG export.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes import PANES

HERE = Path(__file__).resolve().parent
KEYS = {"generate": ["f5"], "gan": ["space"]}
WAIT = {"generate": 12.0, "gan": 6.0, "diffusion": 8.0}


async def shoot(pane_id: str) -> Path:
    app = GenaiApp(initial_pane=pane_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(2.0)
        for key in KEYS.get(pane_id, []):
            await pilot.press(key)
        await pilot.pause(WAIT.get(pane_id, 4.0))
        if pane_id == "gan":
            await pilot.press("space")
            await pilot.pause(0.5)
        path = HERE / f"screenshot-{pane_id}.svg"
        path.write_text(app.export_screenshot(title=f"genai-tui: {pane_id}"), encoding="utf-8")
    return path


def main() -> None:
    ids = sys.argv[1:] or [spec.PANE_ID for spec in PANES]
    for pane_id in ids:
        print(asyncio.run(shoot(pane_id)))


if __name__ == "__main__":
    main()
