"""The headless front ends of a live meeting: `record` and `monitor` (clients of meeting_tui.meeting)."""
