"""The settings example in README.md is valid: it loads with no warning and sets what it says."""

import re
from pathlib import Path

from meeting_tui.settings import load_settings
from meeting_tui.types import Mode


def test_readme_settings_example_loads_cleanly(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    path = tmp_path / "settings.toml"
    path.write_text(block, encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.warnings == []
    s = loaded.settings
    assert s.capture.mode is Mode.MEETING and s.capture.gains_db.mic == 3.0
    assert s.capture.mic_device.hostapi == "Windows WASAPI"
    assert s.ui.keymap == {"session.toggle": "f5"}
