"""Every dashboard action, once: its key, footer entry, help line and palette entry are made from ``ACTIONS``.

An ``Action`` names the Textual action it runs (``handler``, e.g. ``"gain('mic', -1)"`` runs
``app.action_gain('mic', -1)``). With a ``key`` it is a binding (``bindings()``: the app's ``BINDINGS``, in
this order, which is the footer's and the help screen's order); its ``id`` is what ``[ui.keymap]`` remaps.
With a ``palette`` title it is a command palette entry (``palette_entries()``, in this order). Adding an
action is one entry here plus its ``action_*`` method in the feature mixin it belongs to (``ui/features/``).

Palette titles and help may depend on the app's state (a callable taking the app); ``each`` makes one
palette entry per value (a theme, an export format, a speaker), formatted into title and handler as ``{0}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Union

from textual.actions import parse as parse_action
from textual.binding import Binding

from meeting_tui.export_formats import FORMAT_NAMES
from meeting_tui.types import Mode
from meeting_tui.ui.screens.mode_picker import available_modes

Wording = Union[str, Callable[[Any], str]]  # plain, or made from the app when the palette opens

MIC_GAIN = Binding.Group("Mic gain", compact=True)
THEM_GAIN = Binding.Group("Them gain", compact=True)


#: The binding id of each mode's direct key (the hints and the mode picker show these keys).
MODE_ACTIONS = {Mode.MIC: "mode.mic", Mode.LOOPBACK: "mode.loopback", Mode.MEETING: "mode.meeting",
                Mode.MEETING_FFMPEG: "mode.meeting_ffmpeg"}


@dataclass(frozen=True)
class Action:
    handler: str  # the Textual action: "save" runs app.action_save()
    description: str = ""  # the footer's and the help screen's words (bound actions)
    id: str | None = None  # the binding id, remappable in [ui.keymap]
    key: str | None = None  # default key(s), comma-separated; None: palette only
    show: bool = True  # in the footer
    group: Binding.Group | None = None
    priority: bool = False
    palette: Wording | None = None  # the palette title; None: not in the palette
    palette_help: Wording = ""
    when: Callable[[Any], bool] | None = None  # offered in the palette only when this says so
    each: Callable[[Any], Iterable[str]] | None = None  # one palette entry per value ({0} in title and handler)

    def binding(self) -> Binding:
        assert self.key is not None
        return Binding(self.key, self.handler, self.description, show=self.show, id=self.id, group=self.group,
                       priority=self.priority)


def _mode(mode: Mode, key: str, description: str) -> Action:
    return Action(f"set_mode({mode.value!r})", description, id=MODE_ACTIONS[mode], key=key, show=False,
                  palette=f"Mode: {mode.label}", palette_help="switch capture mode (the transcript is kept)",
                  when=lambda app: mode in available_modes(app.ffmpeg_available))


def _recording(app) -> bool:
    return app.core.recording


def _speakers_on(app) -> bool:
    return app.settings.speakers.enabled


def _minutes(app):
    from meeting_tui.ui.minutes_offer import minutes_run

    return minutes_run(app)


_FLAG_HELP = "the line chosen, the last in view when scrolled up, else the newest; the minutes list it"


def _following(app) -> bool:
    return getattr(getattr(app, "call_follower", None), "enabled", False)


ACTIONS: tuple[Action, ...] = (
    Action("quit", "Quit", id="quit", key="ctrl+q", priority=True),  # the palette's Quit is Textual's own
    Action("toggle_session", "Record", id="session.toggle", key="r",
           palette=lambda app: "Stop session" if _recording(app) else "Start session",
           palette_help=lambda app: "stop transcribing and close the journal" if _recording(app)
           else "start transcribing into a new session"),
    Action("pick_mode", "Mode", id="mode.pick", key="m"),
    Action("pick_devices", "Devices", id="devices", key="d",
           palette="Devices: pick microphone and loopback", palette_help="choose the capture devices"),
    Action("refresh_devices", palette="Devices: refresh list", palette_help="list the audio devices again"),
    Action("save", "Save", id="save", key="s", palette="Save transcript",
           palette_help=lambda app: f"save as {app.settings.session.export_format}"),
    Action("gain('mic', -1)", "Mic gain down", id="gain.mic.down", key="left_square_bracket", group=MIC_GAIN),
    Action("gain('mic', 1)", "Mic gain up", id="gain.mic.up", key="right_square_bracket", group=MIC_GAIN),
    Action("gain('loopback', -1)", "Them gain down", id="gain.loopback.down", key="comma", group=THEM_GAIN),
    Action("gain('loopback', 1)", "Them gain up", id="gain.loopback.up", key="full_stop", group=THEM_GAIN),
    Action("help", "Help", id="help", key="f1,question_mark",
           palette="Help: keys", palette_help="every key and what the badges mean"),
    _mode(Mode.MIC, "1", "Mic only"),
    _mode(Mode.LOOPBACK, "2", "Loopback only"),
    _mode(Mode.MEETING, "3", "Meeting"),
    _mode(Mode.MEETING_FFMPEG, "4", "Meeting via FFmpeg"),
    Action("cycle_export_format", "Next save format", id="export.format", key="e", show=False),
    Action("set_export_format({0!r})", palette="Export format: {0}", palette_help="format used by Save",
           each=lambda app: FORMAT_NAMES),
    Action("cycle_theme", "Next theme", id="theme.next", key="t", show=False),
    Action("set_theme({0!r})", palette="Theme: {0}", palette_help="switch theme (saved)",
           each=lambda app: sorted(app.available_themes)),
    Action("open_folder", "Open session folder", id="session.folder", key="o", show=False,
           palette="Open session folder", palette_help="show the session files"),
    Action("reset_gains", "Reset gains", id="gain.reset", key="0", show=False,
           palette="Gain: reset both to 0 dB", palette_help="mic and system audio"),
    Action("search", "Search", id="memory.search", key="slash", show=False, palette="Search past meetings",
           palette_help="find words in every session; Enter opens it at that line"),
    Action("past_sessions", "Past sessions", id="memory.sessions", key="h", show=False, palette="Past sessions",
           palette_help="list, open read-only, export or delete past sessions"),
    Action("follow_calls", palette=lambda app: "Follow calls: stop" if _following(app)
           else "Follow calls: record while another app uses the mic",
           palette_help="start a session when a call opens the microphone, stop when it lets go"),
    # Note and Minutes are in the footer of a wide terminal only (ui/widgets/footer.py).
    Action("note", "Note", id="notes.note", key="n", palette="Note: type a note at this moment",
           palette_help="saved in the session, shown in the transcript and exports"),
    Action("note_mark", "Mark the moment", id="notes.mark", key="b", show=False, palette="Note: mark the moment",
           palette_help="a bookmark in the session"),
    Action("note_flag('action')", "Flag line: action item", id="notes.action", key="a", show=False,
           palette="Flag the line as an action item", palette_help=_FLAG_HELP),
    Action("note_flag('decision')", "Flag line: decision", id="notes.decision", key="c", show=False,
           palette="Flag the line as a decision", palette_help=_FLAG_HELP),
    Action("minutes_last", "Minutes", id="minutes.make", key="M",
           palette=lambda app: "Minutes: cancel" if _minutes(app).running else "Minutes of the last session",
           palette_help=lambda app: "stop making them (nothing is written)" if _minutes(app).running
           else "decisions, action items, open questions, each citing its line (minutes.md, in the background)"),
    Action("minutes_show", palette="Minutes: show the last made", palette_help="Enter on an item jumps to its line",
           when=lambda app: _minutes(app).minutes is not None),
    Action("doctor", palette="Doctor: find the capture mode that works here",
           palette_help="probe mic and loopback in each configuration; a applies the recommendation"),
    Action("recover_sessions", palette="Recover unfinished sessions",
           palette_help="close the journals of sessions that did not finish"),
    Action("toggle_speakers",
           palette=lambda app: f"Speakers: {'stop labelling' if _speakers_on(app) else 'label'} far-side voices "
           "(Them 1, Them 2, ...)",
           palette_help="speaker labels on the system audio, from the next session (saved)"),
    Action("rename_speaker({0!r})", palette="Rename speaker: {0}", palette_help="every line and export follows",
           each=lambda app: app.transcript.speakers()),
    Action("edit_vocabulary", palette="Vocabulary: names and jargon to spell right",
           palette_help="edit the custom vocabulary (saved, applies live)"),
    Action("pick_language", palette="Language: per source",
           palette_help="fix the language of You and Them, or detect it"),
    Action("polish_last", palette="Polish the last session",
           palette_help="re-transcribe its recorded audio with a larger model, in the background"),
)

def bindings() -> list[Binding]:
    return [action.binding() for action in ACTIONS if action.key is not None]


def _text(text: Wording, app) -> str:
    return text(app) if callable(text) else text


def handler_of(app, handler: str) -> Callable[[], Any]:
    """The app's method a Textual action string names, with its arguments bound: called as the key would."""
    _, name, args = parse_action(handler)
    return partial(getattr(app, f"action_{name}"), *args)


def palette_entries(app) -> list[tuple[str, str, Callable[[], Any]]]:
    """(title, help, callback) for each palette entry, in ``ACTIONS`` order, as the app stands now."""
    entries = []
    for action in ACTIONS:
        if action.palette is None or (action.when is not None and not action.when(app)):
            continue
        title, help_text = _text(action.palette, app), _text(action.palette_help, app)
        if action.each is None:
            entries.append((title, help_text, handler_of(app, action.handler)))
            continue
        for value in action.each(app):
            entries.append((title.format(value), help_text.format(value),
                            handler_of(app, action.handler.format(value))))
    return entries


def help_rows(keymap: dict[str, str], key_display: Callable[[str], str]) -> list[tuple[str, str]]:
    """(keys as shown, description) for every bound action, after the user's keymap."""
    rows = []
    for action in ACTIONS:
        if action.key is None or not action.id:
            continue
        keys = keymap.get(action.id, action.key)
        shown = " / ".join(key_display(k.strip()) for k in keys.split(","))
        rows.append((shown, f"{action.description}  ({action.id})"))
    rows.append(("^p", "command palette: every action"))
    rows.append(("↑ ↓ PgUp PgDn Home End", "scroll the transcript; End follows the newest line"))
    return rows
