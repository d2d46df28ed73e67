"""`meeting-tui record` (a live session without the UI) and `meeting-tui transcribe FILE`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from meeting_tui.types import Mode, Segment, Source


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model (default: the settings file)")
    g.add_argument("--model", metavar="NAME|DIR", help="tiny.en ... large-v3, distil-*, turbo, or a model folder")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"])
    g.add_argument("--compute-type", metavar="TYPE", help="default (int8 on CPU, float16 on CUDA), int8, float16 ...")
    g.add_argument("--language", metavar="CODE", help="e.g. en, de; default: detect")
    g.add_argument("--beam-size", type=int, metavar="N")
    g.add_argument("--cpu-threads", type=int, default=0, metavar="N", help="0: leave a core for capture")
    p.add_argument("--label-mic", metavar="TEXT", help='label of mic lines (default "You")')
    p.add_argument("--label-loopback", metavar="TEXT", help='label of loopback lines (default "Them")')
    p.add_argument("--json", action="store_true", help="print one JSON object per segment")
    p.add_argument("--speakers", action=argparse.BooleanOptionalAction, default=None,
                   help='label far-side voices "Them 1", "Them 2", ... (default: settings [speakers] enabled)')
    p.add_argument("--quiet", action="store_true", help="print no status lines (stderr)")


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
    r.add_argument("--no-partials", action="store_true", help="no partial hypotheses (saves CPU)")
    r.add_argument("--out", metavar="FILE", help="also write final segments as JSON lines here")
    r.add_argument("--no-session", action="store_true", help="do not create a session folder (journal)")
    r.add_argument("--no-echo-guard", action="store_true",
                   help="transcribe the raw mic even in meeting mode (default: settings [echo] enabled)")
    _model_args(r)
    r.set_defaults(func=cmd_record)

    t = sub.add_parser("transcribe", help="transcribe a recording with the live engine",
                       description="Transcribe an audio file (WAV/FLAC/OGG, or anything FFmpeg reads).")
    t.add_argument("file")
    t.add_argument("--split-stereo", action="store_true",
                   help='left channel = mic ("You"), right channel = loopback ("Them")')
    t.add_argument("-o", "--output", metavar="FILE", help="write the transcript here (.jsonl: JSON lines)")
    _model_args(t)
    t.set_defaults(func=cmd_transcribe)


# --- shared ---------------------------------------------------------------------------------------------


def _settings(args):
    try:
        from meeting_tui.settings import load_settings
    except ModuleNotFoundError:
        return None, []
    loaded = load_settings(getattr(args, "config", None))
    return loaded.settings, list(loaded.warnings)


def _config(args, settings, mode: Mode, *, partials: bool, style: str | None = None):
    from meeting_tui.transcribe.model import ModelConfig
    from meeting_tui.transcribe.transcriber import TranscriberConfig

    overrides = dict(name=args.model, device=args.device, compute_type=args.compute_type, language=args.language,
                     beam_size=args.beam_size, cpu_threads=args.cpu_threads or None)
    if settings is not None:
        cfg = TranscriberConfig.from_settings(settings, mode)
        cfg.model = ModelConfig.from_settings(settings.transcription.model, **overrides)
    else:
        cfg = TranscriberConfig(model=ModelConfig(**{k: v for k, v in overrides.items() if v is not None}),
                                sources=mode.sources)
    if style:
        cfg.style = style
    if args.label_mic:
        cfg.labels[Source.MIC] = args.label_mic
    if args.label_loopback:
        cfg.labels[Source.LOOPBACK] = args.label_loopback
    cfg.partials = partials
    return cfg


def _status_printer(quiet: bool):
    last = {"msg": None, "t": 0.0}

    def show(status) -> None:
        if quiet:
            return
        now = time.monotonic()
        if status.state == "loading" and status.message == last["msg"]:
            return
        if status.state == "loading" and now - last["t"] < 0.5 and status.progress not in (0.0, 1.0):
            return
        last.update(msg=status.message, t=now)
        line = f"[{status.state}] {status.message}"
        if status.fix and status.fix not in status.message:
            line += f"\n  fix: {status.fix}"
        print(line, file=sys.stderr, flush=True)

    return show


def format_segment(seg: Segment, label: str) -> str:
    m, s = divmod(seg.start, 60)
    h, m = divmod(int(m), 60)
    stamp = f"{h:d}:{m:02d}:{s:04.1f}" if h else f"{m:02d}:{s:04.1f}"
    return f"[{stamp}] {label}: {seg.text}"


def segment_json(seg: Segment, label: str) -> dict:
    return {"id": seg.id, "source": seg.source.value, "label": label, "start": seg.start, "end": seg.end,
            "wall_start": seg.wall_start, "text": seg.text, "confidence": seg.confidence,
            "final": seg.final}


def _speaker_stage(args, settings, has_loopback: bool, prefix: str = "Them"):
    """The speaker stage when asked for (--speakers or settings), None when not, False after an error."""
    wanted = args.speakers if args.speakers is not None else bool(settings is not None and settings.speakers.enabled)
    if not wanted or not has_loopback:
        return None
    from meeting_tui.speakers.commands import make_labeller
    from meeting_tui.speakers.embedder import EmbedderUnavailable
    from meeting_tui.speakers.stage import SpeakerStage

    try:
        return SpeakerStage(make_labeller(settings, prefix=prefix))
    except EmbedderUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False


# --- record ----------------------------------------------------------------------------------------------


def _specs(args, settings, mode: Mode):
    from meeting_tui.capture.engine import WorkerSpec, specs_for_mode
    from meeting_tui.types import DeviceRef

    if args.mic_file or args.loopback_file:
        specs = []
        for source, path, ch in ((Source.MIC, args.mic_file, args.mic_channel),
                                 (Source.LOOPBACK, args.loopback_file, args.loopback_channel)):
            if path:
                channel = args.file_channel if ch is None else ch
                specs.append(WorkerSpec.file(source, path, speed=args.speed, channel=channel, restart=False))
        return specs, tuple(s.sources[0] for s in specs)

    def ref(name, api, setting):
        if name:
            return DeviceRef(name, api or ("PulseAudio" if sys.platform.startswith("linux") else ""))
        return setting.to_ref() if setting is not None else None

    cap = getattr(settings, "capture", None)
    mic = ref(args.mic, args.mic_hostapi, getattr(cap, "mic_device", None))
    loop = ref(args.loopback, args.loopback_hostapi, getattr(cap, "loopback_device", None))
    return specs_for_mode(mode, mic, loop), mode.sources


def cmd_record(args) -> int:
    import asyncio
    from meeting_tui.stop_signals import stop_event

    from meeting_tui.capture.engine import CaptureConfigError, CaptureEngine
    from meeting_tui.transcribe.transcriber import Transcriber

    settings, warnings = _settings(args)
    for w in warnings:
        print(f"settings: {w}", file=sys.stderr)
    mode = Mode(args.mode or (settings.capture.mode.value if settings is not None else "meeting"))
    try:
        specs, sources = _specs(args, settings, mode)
    except CaptureConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.mic_file or args.loopback_file:
        mode = Mode.MEETING if len(sources) == 2 else (Mode.MIC if sources[0] is Source.MIC else Mode.LOOPBACK)
    cfg = _config(args, settings, mode, partials=not args.no_partials, style=args.style)
    cfg.sources = tuple(sources)
    gains = settings.capture.gains_db.as_dict() if settings is not None else {}
    speakers = _speaker_stage(args, settings, Source.LOOPBACK in sources)
    if speakers is False:
        return 2
    out = open(args.out, "a", encoding="utf-8") if args.out else None  # noqa: SIM115
    session = None
    if not args.no_session:
        try:
            from meeting_tui.session.store import Session

            session = Session.open(settings.sessions_dir() if settings is not None else None, mode=mode,
                                   devices={s.sources[0]: s.device for s in specs if len(s.sources) == 1},
                                   model={"name": cfg.model.name, "device": cfg.model.device,
                                          "compute_type": cfg.model.compute_type, "language": cfg.model.language,
                                          "beam_size": cfg.model.beam_size, "style": cfg.style},
                                   gains_db=gains,
                                   record_audio=bool(settings is not None and settings.session.record_audio))
            if not args.quiet:
                print(f"[session] {session.path}", file=sys.stderr, flush=True)
        except ModuleNotFoundError:
            session = None
        except OSError as exc:
            print(f"error: cannot create the session folder: {exc}", file=sys.stderr)
            return 1

    def on_segment(seg: Segment) -> None:
        seg = speakers.process(seg) if speakers else seg
        label = seg.speaker or tr.label(seg.source)
        print(json.dumps(segment_json(seg, label)) if args.json else format_segment(seg, label), flush=True)
        if out is not None:
            out.write(json.dumps(segment_json(seg, label)) + "\n")
            out.flush()
        if session is not None:
            session.append_segment(seg)

    from meeting_tui.transcribe.echo_stage import EchoWiring

    def echo_status(status) -> None:
        if status.message and not args.quiet:
            print(f"[echo] {status.message}", file=sys.stderr, flush=True)

    echo = EchoWiring.from_settings(settings, mode, cfg.style, on_status=echo_status)
    if args.no_echo_guard:
        echo = EchoWiring()
    tr = Transcriber(cfg, on_segment=echo.segment_callback(on_segment), on_status=_status_printer(args.quiet))

    async def main() -> None:
        engine = CaptureEngine(specs, gains)
        echo.attach(engine, tr)
        if session is not None:
            engine.add_listener(session)
        if speakers:
            speakers.journal = session.append_event if session is not None else None
            engine.add_listener(speakers)
        stop = stop_event()
        tr.start()
        await engine.start()
        tr.set_session_start_wall(time.time() - (time.monotonic() - engine.t0))
        waiters = [asyncio.create_task(stop.wait())]
        if args.mic_file or args.loopback_file:
            waiters.append(asyncio.create_task(engine.wait_finished()))
        try:
            await asyncio.wait(waiters, timeout=args.duration or None, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            duration = max((c.get("position_s", 0.0) for c in engine.stats().get("sources", {}).values()),
                           default=0.0)
            await engine.stop()
            echo.flush_audio()
            if not args.quiet:
                print(f"[stopping] transcribing {tr.pending_audio_s():.1f} s of queued audio ...", file=sys.stderr,
                      flush=True)

            def progress(p) -> None:
                if session is not None:
                    session.report_progress(p.done_s, p.total_s)
                if not args.quiet:
                    print(f"[draining] {p.fraction * 100:3.0f}% ({p.done_s:.1f}/{p.total_s:.1f} s)",
                          file=sys.stderr, flush=True)

            await tr.drain_async(progress)
            echo.flush_text()
            if speakers:
                speakers.finish(session.path if session is not None else None)
            if session is not None:
                session.close("stopped", duration_s=duration)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # Windows, or a second Ctrl+C: still drain what we have
        tr.drain_and_stop()
        if session is not None and not session.closed:
            session.close("interrupted")
    finally:
        if out is not None:
            out.close()
    if not args.quiet:
        st = tr.stats()
        print(f"[done] {st.finals} segments; rtf {st.rtf:.2f}; median latency "
              f"{st.latency_median_s if st.latency_median_s is not None else '-'} s", file=sys.stderr)
    return 1 if tr.status.state == "error" else 0


# --- transcribe -------------------------------------------------------------------------------------------


def cmd_transcribe(args) -> int:
    from meeting_tui.transcribe.audio_io import AudioFileError, feed_arrays, read_audio
    from meeting_tui.transcribe.transcriber import Transcriber

    settings, warnings = _settings(args)
    for w in warnings:
        print(f"settings: {w}", file=sys.stderr)
    try:
        chans = read_audio(args.file, channels="split" if args.split_stereo else "mix")
    except AudioFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.split_stereo:
        streams = {Source.MIC: chans[0], Source.LOOPBACK: chans[1]}
        mode = Mode.MEETING
    else:
        streams = {Source.MIC: chans[0]}
        mode = Mode.MIC
    cfg = _config(args, settings, mode, partials=False, style="separate")
    cfg.sources = tuple(streams)
    if not args.split_stereo and not args.label_mic:
        cfg.labels[Source.MIC] = "Speaker"
    voice_source = Source.LOOPBACK if args.split_stereo else Source.MIC
    speakers = _speaker_stage(args, settings, True, prefix=cfg.labels.get(voice_source, "Them"))
    if speakers is False:
        return 2
    segments: list[Segment] = []
    tr = Transcriber(cfg, on_segment=segments.append, on_status=_status_printer(args.quiet))
    tr.start()
    if not tr.wait_ready():
        st = tr.status
        print(f"error: {st.message}", file=sys.stderr)
        tr.close()
        return 1
    total = max(len(a) for a in streams.values()) / 16000
    t0 = time.monotonic()
    feed_arrays(tr, streams)

    def progress(p) -> None:
        if not args.quiet:
            print(f"\r[transcribing] {p.fraction * 100:3.0f}%", end="", file=sys.stderr, flush=True)
            if p.fraction >= 1.0:
                print(file=sys.stderr, flush=True)

    tr.drain_and_stop(progress)
    if not args.quiet:
        print(f"[done] {total:.1f} s of audio in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    segments.sort(key=lambda s: (s.start, s.source.value))
    if speakers:
        from meeting_tui.speakers.commands import label_file_segments

        label_file_segments(speakers.labeller, segments, streams[voice_source], voice_source)
    as_jsonl = args.json or (args.output or "").endswith((".jsonl", ".json"))
    lines = [json.dumps(segment_json(s, s.speaker or tr.label(s.source))) if as_jsonl
             else format_segment(s, s.speaker or tr.label(s.source)) for s in segments]
    text = "\n".join(lines) + ("\n" if lines else "")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0
