"""Minutes after the meeting: decisions, action items, open questions and the user's notes, each citing the line it rests on (see docs/minutes.md)."""
