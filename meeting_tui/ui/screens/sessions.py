"""Past sessions: date, length, speakers, polished or not, minutes or not; open one read-only, export it,
delete it (after a confirmation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Label, Static

from meeting_tui.memory.catalog import DeleteRefused, SessionRow, delete_session, session_rows, transcript_of
from meeting_tui.ui.screens.session_view import SessionView
from meeting_tui.ui.widgets.transcript import clock


class ConfirmDelete(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmDelete { align: center middle; }
    ConfirmDelete > Vertical { width: 64; height: auto; border: round $error; background: $surface; padding: 1 2; }
    ConfirmDelete Horizontal { height: auto; margin-top: 1; }
    ConfirmDelete Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape,n", "answer(False)", "Keep"), Binding("y", "answer(True)", "Delete")]

    def __init__(self, row: SessionRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Delete session {self.row.id} ({self.row.segments} lines, {clock(self.row.duration_s)})? "
                        "Its journal, audio and exports in its folder go too; this cannot be undone.", markup=False)
            with Horizontal():
                yield Button("Keep (n)", id="keep", variant="primary")
                yield Button("Delete (y)", id="delete", variant="error")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class SessionsScreen(Screen[None]):
    DEFAULT_CSS = """
    SessionsScreen #sessions-status { height: auto; padding: 0 1; color: $text-muted; }
    SessionsScreen #sessions-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "close", "Back", id="sessions.close"),
        Binding("enter", "open", "Open", id="sessions.open"),
        Binding("e", "export", "Export", id="sessions.export"),
        Binding("p", "polish", "Polish", id="sessions.polish"),
        Binding("delete,x", "delete", "Delete", id="sessions.delete"),
    ]

    def __init__(self, root: Path, settings: Any) -> None:
        super().__init__()
        self.root, self.settings = Path(root), settings
        self.rows: list[SessionRow] = []
        self.loaded = False

    @property
    def labels(self):
        return self.settings.ui.labels.as_dict()

    def compose(self) -> ComposeResult:
        yield Static("Reading sessions ...", id="sessions-status", markup=False)
        table: DataTable = DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Date", "Length", "Speakers", "Polished", "Minutes", "Status")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True)
    def reload(self) -> None:
        rows = session_rows(self.root, self.labels)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[SessionRow]) -> None:
        self.rows = rows
        table = self.query_one("#sessions-table", DataTable)
        table.clear()
        for r in rows:
            date = r.started_at.strftime("%Y-%m-%d %H:%M") if r.started_at else r.id
            table.add_row(date, clock(r.duration_s), ", ".join(r.speakers) or "-", "yes" if r.polished else "no",
                          "yes" if r.minutes else "no", r.status, key=r.id)
        self.query_one("#sessions-status", Static).update(
            f"{len(rows)} session{'s' if len(rows) != 1 else ''} in {self.root}. Enter opens (read-only), "
            "e exports, p polishes, Delete deletes." if rows else f"No sessions yet in {self.root}.")
        table.focus()
        self.loaded = True

    def selected(self) -> SessionRow | None:
        table = self.query_one("#sessions-table", DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.push_screen(SessionView(row.path, self.labels))

    def action_export(self) -> None:
        from meeting_tui.memory.vault import VaultError, write_note
        from meeting_tui.session.exports import ExportError, default_filename, export_file, minutes_of
        from meeting_tui.session.store import load_session

        row = self.selected()
        if row is None:
            return
        fmt = self.settings.session.export_format
        try:
            items, note = transcript_of(row.path)
            loaded = load_session(row.path)
            items = [*items, *loaded.journal.notes]  # the user's notes and flags, as `meeting-tui export` does
            meta = loaded.export_meta() | ({"transcript": note} if note else {}) | minutes_of(row.path)
            target = export_file(items, row.path / default_filename(row.id, fmt), fmt, labels=self.labels, meta=meta)
            said = f"Exported {row.id} as {fmt} to {target}"
            vault = self.settings.export.folder
            if vault:
                said += f"; note: {write_note(row.path, vault, labels=self.labels, tags=self.settings.export.tags)}"
        except (ExportError, VaultError, OSError) as exc:
            self.app.notify(str(exc), title="Export", severity="error", timeout=10)
            return
        self.app.notify(said, title="Export", timeout=8)

    def action_polish(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.notify(f"Polishing {row.id} in the background ...", title="Polish", timeout=5)
            self.polish(row)

    @work(thread=True, group="polish")
    def polish(self, row: SessionRow) -> None:
        from meeting_tui.meeting.polish import PolishConfig, PolishJob

        result = PolishJob(row.path, PolishConfig.from_settings(self.settings)).run()
        self.app.call_from_thread(self.app.notify, result.message, title="Polish",
                                  severity="information" if result.ok else "error", timeout=15)
        if result.ok:
            self.app.call_from_thread(self.reload)

    def action_delete(self) -> None:
        row = self.selected()
        if row is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                delete_session(row.path)
            except (DeleteRefused, OSError) as exc:
                self.app.notify(f"Not deleted: {exc}", title="Delete", severity="error", timeout=10)
                return
            self.app.notify(f"Deleted {row.id}", title="Delete", timeout=5)
            self.reload()

        self.app.push_screen(ConfirmDelete(row), answered)

    def action_close(self) -> None:
        self.dismiss(None)
