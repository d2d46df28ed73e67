"""One export-format registry (meeting_tui/export_formats): the settings, the writers' dispatch, the extension
check and `meeting-tui export --format` all take their formats from ``FORMATS``; each name, extension and
alias belongs to one format."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from meeting_tui.export_formats import FORMAT_NAMES, FORMATS, by_name, extensions, for_suffix, next_format
from meeting_tui.session.exports import default_filename, format_for_path, render
from meeting_tui.settings import SessionSettings, validate_settings
from meeting_tui.types import Segment, Source


def test_names_extensions_and_aliases_each_name_one_format():
    assert len(set(FORMAT_NAMES)) == len(FORMATS)
    suffixes = [s for f in FORMATS for s in (f.extension, *f.aliases)]
    assert len(set(suffixes)) == len(suffixes) and all(s.startswith(".") for s in suffixes)
    for fmt in FORMATS:
        assert by_name(fmt.name) is fmt and for_suffix(fmt.extension.upper()) is fmt
        assert format_for_path(f"out{fmt.extension}") == fmt.name
        assert default_filename("s", fmt.name) == f"meeting-s{fmt.extension}"
    assert [next_format(n) for n in FORMAT_NAMES] == [*FORMAT_NAMES[1:], FORMAT_NAMES[0]]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_each_format_renders_through_its_writer(fmt):
    text = render([Segment(Source.MIC, 1.0, 2.0, "hello there")], fmt)
    assert "hello there" in text
    assert text == by_name(fmt).writer([Segment(Source.MIC, 1.0, 2.0, "hello there")],
                                       {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed"}, {})


def test_the_settings_accept_exactly_the_registered_formats():
    assert typing.get_args(typing.get_type_hints(SessionSettings)["export_format"]) == FORMAT_NAMES
    for name in FORMAT_NAMES:
        settings, warnings = validate_settings({"session": {"export_format": name}})
        assert settings.session.export_format == name and not warnings
    settings, warnings = validate_settings({"session": {"export_format": "docx"}})
    assert settings.session.export_format == "md" and any("export_format" in w for w in warnings)


def test_export_help_offers_the_registered_formats():
    run = subprocess.run([sys.executable, "-m", "meeting_tui", "export", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "{" + ",".join(FORMAT_NAMES) + "}" in run.stdout
    assert extensions() in " ".join(run.stdout.split())
