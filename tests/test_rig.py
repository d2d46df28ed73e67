"""The rig itself: the server is up and the virtual devices exist."""

import pytest

pytestmark = pytest.mark.rig


def test_rig_has_virtual_mic_and_loopback(rig):
    sources = rig.pactl("list", "short", "sources")
    names = {line.split("\t")[1] for line in sources.splitlines() if line.strip()}
    assert "mic" in names
    assert "speakers.monitor" in names
