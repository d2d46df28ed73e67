"""`meeting-tui record`: a live meeting without the UI. Lines on stdout as they are final, retractions and
health transitions as they happen, status on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from meeting_tui.commands.health import Transitions, health_json, health_text, stamp
from meeting_tui.commands.output import Stdout, err
from meeting_tui.meeting.events import (
    HealthEvent,
    MeetingEvent,
    NoticeEvent,
    RetractionEvent,
    SegmentEvent,
    SpeakerLabelEvent,
    StatusEvent,
)
from meeting_tui.commands.transcribe import format_segment, model_args, model_config, segment_json, settings_of
from meeting_tui.paths import shown
from meeting_tui.types import DeviceRef, Mode, Source


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("record", help="record and transcribe live without the UI (Ctrl+C stops)",
                       description="Capture, transcribe and journal a session headless. Stops on Ctrl+C, SIGTERM "
                                   "or --duration, after transcribing everything already captured.")
    r.add_argument("--mode", choices=[m.value for m in Mode], help="default: the settings file (meeting)")
    r.add_argument("--mic", metavar="NAME", help="mic device name (see `meeting-tui devices`)")
    r.add_argument("--mic-hostapi", metavar="API")
    r.add_argument("--loopback", metavar="NAME", help="loopback device name")
    r.add_argument("--loopback-hostapi", metavar="API")
    r.add_argument("--mic-file", metavar="FILE", help="replay a file as the mic (demo, tests)")
    r.add_argument("--loopback-file", metavar="FILE", help="replay a file as the loopback")
    r.add_argument("--file-channel", type=int, default=-1, metavar="N",
                   help="with --*-file: use channel N of the file (-1: all, downmixed)")
    r.add_argument("--mic-channel", type=int, default=None, metavar="N", help="channel of --mic-file")
    r.add_argument("--loopback-channel", type=int, default=None, metavar="N", help="channel of --loopback-file")
    r.add_argument("--speed", type=float, default=1.0, help="file replay speed (1 = real time)")
    r.add_argument("--duration", type=float, default=0.0, metavar="S",
                   help="stop after S seconds (0: Ctrl+C/SIGTERM; with only files: at their end)")
    r.add_argument("--style", choices=["separate", "mixed"], help="transcribe each source, or the mix")
    # record prints final lines only, so it decodes no partials; the flag stays for scripts that pass it
    r.add_argument("--no-partials", action="store_true", help=argparse.SUPPRESS)
    r.add_argument("--out", metavar="FILE", help="also write final segments (and retractions) as JSON lines here")
    r.add_argument("--no-session", action="store_true", help="do not create a session folder (journal)")
    r.add_argument("--to", metavar="FOLDER", help="write the session's Markdown note here at the end "
                   "(default: [export] folder in the settings file)")
    r.add_argument("--no-echo-guard", action="store_true",
                   help="transcribe the raw mic even in meeting mode (default: settings [echo] enabled)")
    model_args(r)
    r.set_defaults(func=cmd_record)


def _setup(args, settings):
    """The capture setup, and whether it replays files. Raises CaptureConfigError."""
    from meeting_tui.meeting.setup import CaptureSetup, file_specs, mode_of

    gains = settings.capture.gains_db.as_dict() if settings is not None else {}
    if args.mic_file or args.loopback_file:
        files = {s: p for s, p in ((Source.MIC, args.mic_file), (Source.LOOPBACK, args.loopback_file)) if p}
        channels = {Source.MIC: args.file_channel if args.mic_channel is None else args.mic_channel,
                    Source.LOOPBACK: args.file_channel if args.loopback_channel is None else args.loopback_channel}
        specs = file_specs(files, speed=args.speed, channels=channels)
        return CaptureSetup(mode_of(specs), gains_db=gains, files=specs), True

    def ref(name, api, setting):
        if name:
            return DeviceRef(name, api or ("PulseAudio" if sys.platform.startswith("linux") else ""))
        return setting.to_ref() if setting is not None else None

    cap = getattr(settings, "capture", None)
    mode = Mode(args.mode or (cap.mode.value if cap is not None else "meeting"))
    setup = CaptureSetup(mode, ref(args.mic, args.mic_hostapi, getattr(cap, "mic_device", None)),
                         ref(args.loopback, args.loopback_hostapi, getattr(cap, "loopback_device", None)),
                         gains_db=gains)
    setup.specs()  # a mode this platform lacks: its error now, before anything is created
    return setup, False


class _Printer:
    """The meeting's client: prints each event as it arrives (on the event loop)."""

    def __init__(self, args, labels: dict[Source, str], out) -> None:
        self.args, self.labels, self.out = args, labels, out
        self.stdout = Stdout()
        self.transition = Transitions()
        self.meeting = None
        self.failed = asyncio.Event()
        self.segments = 0

    def label(self, source: Source) -> str:
        return self.labels.get(source, source.value)

    def _write(self, rec: dict, text: str | None) -> None:
        self.stdout.line(json.dumps(rec) if self.args.json or text is None else text)
        if self.out is not None and rec.get("type") in ("segment", "retraction"):
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()

    def note_taken(self, note) -> None:
        self._write({"type": "note", "kind": note.kind, "text": note.text, "start": note.at},
                    f"[{stamp(note.at)}] [note] {note.text}")

    def on_event(self, event: MeetingEvent) -> None:
        if isinstance(event, SegmentEvent):
            seg = event.segment
            self.meeting.latency.delivered(seg.source, event.said_at)
            self.segments += 1
            label = seg.speaker or self.label(seg.source)
            self._write({"type": "segment", **segment_json(seg, label)}, format_segment(seg, label))
        elif isinstance(event, RetractionEvent):
            seg = event.segment
            rec = {"type": "retraction", "id": seg.id, "source": seg.source.value, "label": self.label(seg.source),
                   "action": event.action, "score": event.score, "start": seg.start, "text": seg.text}
            what = "removed" if event.action == "drop" else "marked"
            self._write(rec, f"[{stamp(seg.start)}] {self.label(seg.source)}: (echo of "
                             f"{self.label(Source.LOOPBACK)}, {what}) {seg.text}")
        elif isinstance(event, SpeakerLabelEvent):
            what = "is the same voice as" if event.kind == "merge" else "is now named"
            self._write({"type": "speaker", "op": event.kind, "from": event.old, "to": event.new,
                         "ids": list(event.line_ids)}, f"[speakers] {event.old} {what} {event.new}")
        elif isinstance(event, HealthEvent):
            what = self.transition(event)
            if what is None:
                return
            if self.args.json:
                self.stdout.line(json.dumps(health_json(event, what)))
            elif not self.args.quiet:
                err(health_text(event, what))
        elif isinstance(event, StatusEvent):
            if event.status.state == "failed":
                self.failed.set()
            elif event.status.state == "ready" and not self.args.quiet:
                err(f"[ready] {event.status.model}")
        elif isinstance(event, NoticeEvent):
            if event.severity == "error" or not self.args.quiet:
                err(f"[{event.title.lower()}] {event.text}")


def cmd_record(args) -> int:
    from meeting_tui.capture.engine import CaptureConfigError
    from meeting_tui.meeting.echo_stage import EchoPlan
    from meeting_tui.meeting.meeting import Meeting, MeetingError
    from meeting_tui.meeting.transcriber_setup import transcriber_config
    from meeting_tui.meeting.model import model_problem

    settings, warnings = settings_of(args)
    from meeting_tui.wording import print_settings_warnings

    print_settings_warnings(warnings)
    try:
        setup, from_files = _setup(args, settings)
    except CaptureConfigError as exc:
        err(f"error: {exc}")
        return 2
    labels = {}
    if args.label_mic:
        labels[Source.MIC] = args.label_mic
    if args.label_loopback:
        labels[Source.LOOPBACK] = args.label_loopback
    config = transcriber_config(settings, model=model_config(args, settings), style=args.style, labels=labels,
                                partials=False,  # never printed: each would be a decode for nobody (docs/cost.md)
                                paced=not ((args.mic_file or args.loopback_file) and args.speed == 0))
    from meeting_tui.transcribe.decode_options import from_args

    config.decode, _ = from_args(args, settings)  # --vocabulary, --language per source
    # Checks before any side effect: one message, the fix, a non-zero exit, nothing created.
    from meeting_tui.memory.finish import vault_check

    problem = model_problem(config.model) or (None if args.no_session else vault_check(settings, args.to))
    if args.to:
        settings.export.folder = Path(args.to).expanduser()
    if problem:
        err(f"error: {problem}")
        return 1
    if not from_files:
        from meeting_tui.capture.devices import list_devices
        from meeting_tui.capture.preflight import capture_problem

        devices, problem = capture_problem(list_devices)
        if problem:
            err(f"error: {problem}")
            return 1
        from meeting_tui.commands.devices_check import check_devices

        problem = check_devices(setup, devices, named={Source.MIC: bool(args.mic), Source.LOOPBACK: bool(args.loopback)})
        if problem:
            err(f"error: {problem}")
            return 2
        from meeting_tui.meeting.instance import InstanceLock, record_beside_note

        instance = InstanceLock()  # held until record ends
        if not instance.acquire("`meeting-tui record`"):
            err(f"warning: {record_beside_note(instance.holder())}")
    from meeting_tui.commands.transcribe import speaker_stage

    speakers = speaker_stage(args, settings, Source.LOOPBACK in setup.mode.sources,
                             prefix=config.labels.get(Source.LOOPBACK, "Them"))
    if speakers is False:  # the voice model cannot be had: said once, nothing created
        return 2
    echo = EchoPlan.from_settings(settings, config.style, no_guard=args.no_echo_guard)
    out = open(args.out, "a", encoding="utf-8") if args.out else None  # noqa: SIM115
    printer = _Printer(args, config.labels, out)
    meeting = Meeting(printer, settings=settings, config=config, echo=echo)
    meeting.meter_hz = 5  # it shows no meters: the engine's tick reads health (docs/cost.md)
    printer.meeting = meeting
    meeting.speakers = speakers or None
    meeting.speakers_from_settings = False  # --speakers / --no-speakers / the settings, decided above
    result = {"rc": 0, "path": None}

    async def main() -> None:
        from meeting_tui.stop_signals import close_drain_s, stop_signals

        CLOSE_DRAIN_S = close_drain_s()

        stop = stop_signals()
        signals["stop"] = stop
        try:  # opens the journal, then starts loading the model (nothing loads if the folder fails)
            path = meeting.start_session(journal=not args.no_session, setup=setup)
        except MeetingError as exc:
            err(f"error: {exc}")
            result["rc"] = 1
            return
        except OSError as exc:
            from meeting_tui import paths

            err(f"error: cannot create the session folder: {exc}. Set {paths.DATA_ENV} to a writable folder, or "
                "[session] dir in the settings file (or use --no-session)")
            result["rc"] = 1
            return
        if path is not None and not args.quiet:
            err(f"[session] {shown(path)}")
        await meeting.start_capture(setup)
        if path is not None:
            from meeting_tui.commands.stdin_notes import read_notes

            read_notes(meeting, printer.note_taken)
        waiters = [asyncio.create_task(stop.event.wait()), asyncio.create_task(printer.failed.wait()),
                   asyncio.create_task(_closed(printer.stdout))]
        if from_files:
            waiters.append(asyncio.create_task(meeting.wait_capture_finished()))
        try:
            await asyncio.wait(waiters, timeout=args.duration or None, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await meeting.stop_capture()
            result["server"] = meeting.server_health()  # live figures: read after the drain below
            result["live"] = meeting.transcription  # its decode counts, for the summary
            if printer.failed.is_set():
                result["rc"] = 1
            elif not args.quiet:
                live = meeting.transcription
                pending = live.pending_audio_s() if live is not None else 0.0
                err(f"[stopping] transcribing {pending:.1f} s of queued audio ...")

            def progress(fraction: float) -> None:
                if not args.quiet and not printer.failed.is_set():
                    err(f"[draining] {fraction * 100:3.0f}%")

            drain = asyncio.create_task(meeting.stop_session(progress))
            # A closed terminal gives us about 5 s from the event: transcribe what fits, then close the journal.
            while not drain.done():
                left = stop.drain_left(CLOSE_DRAIN_S)
                if left is not None and left <= 0:
                    if meeting.cut_drain("console closed"):
                        err("[closed] the terminal was closed: the rest of the queued audio was not transcribed")
                    await drain
                    break
                await asyncio.wait({drain}, timeout=0.2 if left is None else min(left, 0.2))
            result["path"] = drain.result()
            stop.closed.set()  # a console close handler waiting on us may let Windows end the process now
            stop.close()
    signals: dict = {}
    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # a Ctrl+C that reached Python before our handlers: still drain what we have
        result["path"] = meeting.abandon_session("interrupted") or result["path"]
    finally:
        if out is not None:
            out.close()
        if "stop" in signals:
            signals["stop"].closed.set()  # a console close handler waiting on us may return now
    if args.json and result["rc"] == 0:
        printer.stdout.line(json.dumps({"type": "summary", "segments": printer.segments,
                                        "session": str(result["path"]) if result["path"] else None,
                                        "latency": meeting.latency.as_dict(config.labels)}
                                       | _server_summary(result.get("server")) | _decodes_summary(result.get("live"))))
    if not args.quiet and result["rc"] == 0:
        err(f"[done] {printer.segments} segments; {meeting.latency.summary(config.labels)}"
            + (f"; saved in {shown(result['path'])}" if result["path"] else ""))
    return result["rc"]


async def _closed(stdout: Stdout) -> None:
    while not stdout.closed.is_set():
        await asyncio.sleep(0.2)


def _decodes_summary(live) -> dict:
    """How many Whisper decodes the session ran (bench/cost_bench.py reads them)."""
    st = live.stats() if live is not None else None
    if st is None:
        return {}
    return {"decodes": {"finals": st.final_decodes, "partials": st.partial_decodes,
                        "context_retries": st.context_retries, "early_finals_wasted": st.early_wasted},
            "heap_trims": st.heap_trims}


def _server_summary(health) -> dict:
    """The speech server's figures for the summary (when transcription ran on one)."""
    if health is None:
        return {}
    return {"server": {"round_trip_s": round(health.rtt_s, 3) if health.rtt_s is not None else None,
                       "sent": health.sent, "failed": health.failed, "local_decodes": health.local_decodes,
                       "outages": sum(1 for _, what in health.history if what == "down")}}
