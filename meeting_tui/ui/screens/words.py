"""The words the transcriber should get right: the vocabulary editor and the per-source language picker.

Both are ModalScreens reached from the command palette. ``open_vocabulary_editor`` and
``open_language_picker`` push them and apply the result: saved to the settings (``SettingsStore``) and,
while a meeting runs, applied live to the transcriber's ``DecodeOptions`` from the next utterance on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from meeting_tui.transcribe.language import LanguageError, SourceLanguage, check_code
from meeting_tui.transcribe.vocabulary import MAX_TERMS, Vocabulary, VocabularyError, parse_terms
from meeting_tui.types import Source


class VocabularyEditor(ModalScreen[list[str] | None]):
    """One term per line (or comma-separated). Ctrl+S saves, Escape cancels; a bad list is explained."""

    DEFAULT_CSS = """
    VocabularyEditor { align: center middle; }
    VocabularyEditor > Vertical { width: 70; height: auto; max-height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    VocabularyEditor TextArea { height: 12; }
    VocabularyEditor #vocab-status { color: $text-muted; }
    VocabularyEditor #vocab-error { color: $error; }
    VocabularyEditor Horizontal { height: auto; align: right middle; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "cancel", "Cancel")]

    def __init__(self, terms: list[str] | tuple[str, ...]) -> None:
        super().__init__()
        self._initial = list(terms)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Vocabulary[/b]: names and jargon to spell as written here")
            yield TextArea("\n".join(self._initial), id="vocab-text")
            yield Static("", id="vocab-status")
            yield Static("", id="vocab-error")
            with Horizontal():
                yield Button("Save (ctrl+s)", id="vocab-save", variant="primary")
                yield Button("Cancel (esc)", id="vocab-cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self._refresh_status()

    @on(TextArea.Changed)
    def _refresh_status(self) -> None:
        error = self.query_one("#vocab-error", Static)
        try:
            terms = parse_terms(self.query_one(TextArea).text)
        except VocabularyError as exc:
            error.update(str(exc))
            return
        error.update("")
        prompt = Vocabulary(tuple(terms)).prompt() or ""
        self.query_one("#vocab-status", Static).update(
            f"{len(terms)} of at most {MAX_TERMS} terms; the prompt Whisper sees: {len(prompt)} characters")

    def action_save(self) -> None:
        try:
            terms = parse_terms(self.query_one(TextArea).text)
        except VocabularyError as exc:
            self.query_one("#vocab-error", Static).update(str(exc))
            return
        self.dismiss(terms)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#vocab-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#vocab-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


@dataclass(frozen=True)
class LanguagePick:
    """Per source: a Whisper code, or None for "auto" (detect)."""

    languages: dict[Source, str | None]


class LanguagePicker(ModalScreen[LanguagePick | None]):
    """A language per source (en, de, ... or auto), with what detection shows now. Enter applies."""

    DEFAULT_CSS = """
    LanguagePicker { align: center middle; }
    LanguagePicker > Vertical { width: 64; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    LanguagePicker Input { width: 12; }
    LanguagePicker Horizontal { height: auto; }
    LanguagePicker .lang-now { color: $text-muted; padding: 1 0 0 1; }
    LanguagePicker #lang-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: dict[Source, SourceLanguage], labels: dict[Source, str] | None = None) -> None:
        super().__init__()
        self._current = current
        self._labels = labels or {Source.MIC: "You", Source.LOOPBACK: "Them"}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Language[/b] per source: a code (en, de, fr, ...) or auto to detect")
            for source, snap in self._current.items():
                with Horizontal():
                    value = snap.language if snap.state in ("fixed", "override") else "auto"
                    yield Label(f"{self._labels.get(source, source.value)} ({source.value})", classes="lang-now")
                    yield Input(value or "auto", id=f"lang-{source.value}")
                    yield Label(f"now: {snap.label}", classes="lang-now")
            yield Static("", id="lang-error")

    @on(Input.Submitted)
    def _apply(self) -> None:
        picked: dict[Source, str | None] = {}
        for source in self._current:
            text = self.query_one(f"#lang-{source.value}", Input).value
            try:
                picked[source] = check_code(text)
            except LanguageError as exc:
                self.query_one("#lang-error", Static).update(f"{source.value}: {exc}")
                return
        self.dismiss(LanguagePick(picked))

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- what the dashboard calls -------------------------------------------------------------------------


def open_vocabulary_editor(app: App, store: Any, decode: Any | None = None,
                           done: Callable[[list[str]], None] | None = None) -> None:
    """Push the editor; on save: ``store.set("transcription.vocabulary", terms)`` and ``decode.set_vocabulary``
    (the running transcriber's DecodeOptions, if any). Notifies the user either way."""

    def apply(terms: list[str] | None) -> None:
        if terms is None:
            return
        notice = store.set("transcription.vocabulary", terms)
        if decode is not None:
            decode.set_vocabulary(terms)
        live = " (applies from the next sentence)" if decode is not None else ""
        app.notify(notice or f"Vocabulary saved: {len(terms)} terms{live}.", severity="warning" if notice else "information")
        if done is not None:
            done(terms)

    app.push_screen(VocabularyEditor(list(store.settings.transcription.vocabulary)), apply)


def open_language_picker(app: App, store: Any, decode: Any | None = None, sources: tuple[Source, ...] = (Source.MIC, Source.LOOPBACK),
                         labels: dict[Source, str] | None = None) -> None:
    """Push the picker; on Enter: saved per source (``transcription.languages``) and, live, set on the
    transcriber's LanguageTracker (an explicit language overrides detection; auto restarts it)."""
    from meeting_tui.transcribe.language import LanguageTracker

    tracker = decode.languages if decode is not None else LanguageTracker(
        store.settings.transcription.model.language, store.settings.transcription.languages.as_dict())

    shown_now = {s: tracker.snapshot(s) for s in sources}
    before = {s: snap.language if snap.state in ("fixed", "override") else None for s, snap in shown_now.items()}

    def apply(pick: LanguagePick | None) -> None:
        if pick is None:
            return
        notice = None
        for source, code in pick.languages.items():
            if code == before[source]:
                continue  # unchanged: a detection in progress or settled is kept
            notice = store.set(f"transcription.languages.{source.value}", code) or notice
            if decode is not None:
                decode.set_language(source, code)
        shown = ", ".join(f"{s.value} {c or 'auto'}" for s, c in pick.languages.items())
        app.notify(notice or f"Language: {shown}.", severity="warning" if notice else "information")

    app.push_screen(LanguagePicker(shown_now, labels), apply)
