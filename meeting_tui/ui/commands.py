"""The command palette: every dashboard action by name (``palette_commands``) and its provider.

Textual's own system commands (Quit, Keys, Screenshot, Theme...) come from ``App.COMMANDS`` beside this
provider, so nothing here repeats them.
"""

from __future__ import annotations

from rich.text import Text
from typing import TYPE_CHECKING, Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from meeting_tui.ui.app import MeetingApp

EXPORT_FORMATS = ("txt", "md", "srt", "vtt", "json")


def palette_commands(app: "MeetingApp") -> list[tuple[str, str, Callable]]:
    """(title, help, callback) for each action of the dashboard."""
    from meeting_tui.ui.screens.mode_picker import available_modes

    cmds: list[tuple[str, str, Callable]] = []
    rec = app.core.recording
    cmds.append(("Stop session" if rec else "Start session",
                 "stop transcribing and close the journal" if rec else "start transcribing into a new session",
                 app.action_toggle_session))
    for mode in available_modes(app.ffmpeg_available):
        cmds.append((f"Mode: {mode.label}", "switch capture mode (the transcript is kept)",
                     lambda m=mode: app.action_set_mode(m.value)))
    cmds.append(("Devices: pick microphone and loopback", "choose the capture devices", app.action_pick_devices))
    cmds.append(("Devices: refresh list", "list the audio devices again", app.action_refresh_devices))
    for name in sorted(app.available_themes):
        cmds.append((f"Theme: {name}", "switch theme (saved)", lambda n=name: app.action_set_theme(n)))
    cmds.append(("Note: type a note at this moment", "saved in the session, shown in the transcript and exports",
                 app.action_note))
    cmds.append(("Note: mark the moment", "a bookmark in the session", app.action_note_mark))
    cmds.append(("Flag the line as an action item", "the line chosen, the last in view when scrolled up, else the "
                 "newest; the minutes list it", lambda: app.action_note_flag("action")))
    cmds.append(("Flag the line as a decision", "the line chosen, the last in view when scrolled up, else the "
                 "newest; the minutes list it", lambda: app.action_note_flag("decision")))
    cmds.append(("Save transcript", f"save as {app.settings.session.export_format}", app.action_save))
    for fmt in EXPORT_FORMATS:
        cmds.append((f"Export format: {fmt}", "format used by Save", lambda f=fmt: app.action_set_export_format(f)))
    cmds.append(("Open session folder", "show the session files", app.action_open_folder))
    cmds.append(("Doctor: find the capture mode that works here",
                 "probe mic and loopback in each configuration; a applies the recommendation", app.action_doctor))
    cmds.append(("Recover unfinished sessions", "close the journals of sessions that did not finish",
                 app.action_recover_sessions))
    speakers_on = app.settings.speakers.enabled
    cmds.append((f"Speakers: {'stop labelling' if speakers_on else 'label'} far-side voices (Them 1, Them 2, ...)",
                 "speaker labels on the system audio, from the next session (saved)", app.action_toggle_speakers))
    for name in app.transcript.speakers():
        cmds.append((f"Rename speaker: {name}", "every line and export follows", lambda n=name: app.action_rename_speaker(n)))
    cmds.append(("Vocabulary: names and jargon to spell right", "edit the custom vocabulary (saved, applies live)",
                 app.action_edit_vocabulary))
    cmds.append(("Language: per source", "fix the language of You and Them, or detect it", app.action_pick_language))
    cmds.append(("Polish the last session", "re-transcribe its recorded audio with a larger model, in the background",
                 app.action_polish_last))
    from meeting_tui.ui.minutes_offer import palette_entries

    cmds += palette_entries(app)
    cmds.append(("Search past meetings", "find words in every session; Enter opens it at that line", app.action_search))
    following = getattr(getattr(app, "call_follower", None), "enabled", False)
    cmds.append(("Follow calls: stop" if following else "Follow calls: record while another app uses the mic",
                 "start a session when a call opens the microphone, stop when it lets go", app.action_follow_calls))
    cmds.append(("Past sessions", "list, open read-only, export or delete past sessions", app.action_past_sessions))
    cmds.append(("Gain: reset both to 0 dB", "mic and system audio", app.action_reset_gains))
    cmds.append(("Help: keys", "every key and what the badges mean", app.action_help))
    return cmds


class MeetingCommands(Provider):
    """Offers ``app.palette_commands()``."""

    def _commands(self):
        getter = getattr(self.app, "palette_commands", None)
        return list(getter()) if getter else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Text(title), callback, text=title, help=help_text)  # Text: theme names are not markup

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
