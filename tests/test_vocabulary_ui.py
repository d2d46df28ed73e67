"""The vocabulary editor and the language picker, driven with Pilot in a host app (the dashboard's
palette wiring is the lead's): what the user types is saved to the settings file and applied live."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, Static, TextArea

from meeting_tui.settings import SettingsStore, load_settings
from meeting_tui.transcribe.decode_options import DecodeOptions
from meeting_tui.types import Source
from meeting_tui.ui.screens.words import LanguagePicker, VocabularyEditor, open_language_picker, open_vocabulary_editor


class Host(App):
    def __init__(self, store: SettingsStore, decode: DecodeOptions) -> None:
        super().__init__()
        self.store, self.decode = store, decode
        self.notices: list[str] = []

    def notify(self, message: str, **kwargs) -> None:  # type: ignore[override]
        self.notices.append(message)
        super().notify(message, **kwargs)


async def test_vocabulary_editor_saves_and_applies_live(tmp_path):
    cfg = tmp_path / "settings.toml"
    cfg.write_text('[transcription]\nvocabulary = ["Kubernetes"]\n')
    store = SettingsStore(cfg)
    decode = DecodeOptions.from_settings(store.settings.transcription)
    app = Host(store, decode)
    async with app.run_test(size=(100, 30)) as pilot:
        open_vocabulary_editor(app, store, decode)
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, VocabularyEditor)
        area = editor.query_one(TextArea)
        assert area.text == "Kubernetes"
        area.move_cursor(area.document.end)
        await pilot.press("enter", *"x" * 61)  # too long: explained, not saved
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is editor and "longer than 60 characters" in str(editor.query_one("#vocab-error", Static).render())
        area.text = "Kubernetes\nSiobhan, Grafana\n"
        await pilot.pause()
        assert "3 of at most 100 terms" in str(editor.query_one("#vocab-status", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not editor
    assert load_settings(cfg).settings.transcription.vocabulary == ["Kubernetes", "Siobhan", "Grafana"]
    assert decode.kwargs(Source.MIC)["initial_prompt"] == "We talked about Kubernetes, Siobhan and Grafana."
    assert app.notices[-1] == "Vocabulary saved: 3 terms (applies from the next sentence)."


async def test_language_picker_overrides_detection_live(tmp_path):
    cfg = tmp_path / "settings.toml"
    store = SettingsStore(cfg)
    decode = DecodeOptions.from_settings(store.settings.transcription)
    decode.languages.min_speech_s = 2.0
    decode.languages.observe(Source.LOOPBACK, "en", 0.9, 3.0)  # detection already settled the far side
    app = Host(store, decode)
    async with app.run_test(size=(100, 30)) as pilot:
        open_language_picker(app, store, decode)
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, LanguagePicker)
        shown = " ".join(str(w.render()) for w in picker.query(".lang-now"))
        assert "now: detecting" in shown and "now: en (detected, 90%)" in shown
        mic = picker.query_one("#lang-mic", Input)
        mic.focus()
        mic.value = "dee"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is picker and 'Did you mean "de"' in str(picker.query_one("#lang-error", Static).render())
        mic.value = "de"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is not picker
    assert decode.languages.language_for(Source.MIC) == "de"
    assert decode.languages.snapshot(Source.MIC).state == "override"
    assert decode.languages.language_for(Source.LOOPBACK) == "en"  # auto kept: still the detected one
    assert load_settings(cfg).settings.transcription.languages.mic == "de"
    assert app.notices[-1] == "Language: mic de, loopback auto."
