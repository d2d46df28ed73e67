"""Saving what is on screen: the export format (set, cycled), Save, the session folder; and notes."""

from __future__ import annotations

import time
from pathlib import Path

from meeting_tui.export_formats import next_format
from meeting_tui.ui.widgets.transcript import Note
from meeting_tui.wording import plural


class SaveControl:
    """Save, export format, notes. Mixed into ``MeetingApp``."""

    def export_items(self) -> list:
        from meeting_tui.ui.note_taking import notes_for_export

        return [i for i in self.transcript.items if not isinstance(i, Note)] + notes_for_export(self)

    def action_note(self) -> None:
        from meeting_tui.ui.note_taking import ask_note

        ask_note(self)

    def action_note_mark(self) -> None:
        from meeting_tui.ui.note_taking import take

        take(self, "mark")

    def action_note_flag(self, kind: str) -> None:
        from meeting_tui.ui.note_taking import flag_line

        flag_line(self, kind)

    def action_save(self) -> Path | None:
        from meeting_tui.session.exports import ExportError, default_filename, export_file, saved_meta

        fmt = self.settings.session.export_format
        folder = self.core.session.path if self.core.session is not None else self.last_session
        if folder is None:
            folder = self.core.sessions_dir
        stem = folder.name if folder != self.core.sessions_dir else time.strftime("%Y-%m-%d_%H-%M-%S")
        try:
            from meeting_tui import paths

            paths.private_dir(folder)
            target = export_file(self.export_items(), folder / default_filename(stem, fmt), fmt,
                                 labels=self.settings.ui.labels.as_dict(),
                                 meta=saved_meta(folder if stem == folder.name else None, self.mode.value))
        except (ExportError, OSError) as exc:
            self.notify(str(exc), title="Save", severity="error", timeout=10)
            return None
        self.last_saved = target
        from meeting_tui.ui.notices import path_lines, toast_text_width

        where = path_lines(str(target), toast_text_width(self.size.width))
        self.notify(f"Saved {plural(len(self.export_items()), 'line')} as {fmt} to\n{where}", title="Saved", timeout=8)
        return target

    def action_set_export_format(self, fmt: str) -> None:
        self.settings.session.export_format = fmt
        self.schedule_settings_save()
        self._update_status()
        self.notify(f"Save format: {fmt}", timeout=3)

    def action_cycle_export_format(self) -> None:
        self.action_set_export_format(next_format(self.settings.session.export_format))

    def action_open_folder(self) -> None:
        folder = self.core.session.path if self.core.session is not None else self.last_session
        folder = folder or self.core.sessions_dir
        try:
            from meeting_tui import paths

            paths.private_dir(folder)
            self.opener(folder)
        except Exception as exc:
            from meeting_tui.ui.opener import NoOpener

            self.notify(str(exc) if isinstance(exc, NoOpener) else f"Could not open {folder}: {exc}", severity="warning")
            return
        self.notify(f"Opened {folder}", timeout=4)
