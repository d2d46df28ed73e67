from meeting_tui.cli import entry

raise SystemExit(entry())
