"""`meeting-tui transcribe FILE`, and the model options and line formats `record` shares."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from meeting_tui.export_formats import extensions
from meeting_tui.types import Mode, Segment, Source


def model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model (default: the settings file)")
    g.add_argument("--model", metavar="NAME|DIR", help="tiny.en ... large-v3, distil-*, turbo, or a model folder")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"])
    g.add_argument("--compute-type", metavar="TYPE", help="default (int8 on CPU, float16 on CUDA), int8, float16 ...")
    from meeting_tui.transcribe.decode_options import language_arg, vocabulary_arg

    g.add_argument("--language", metavar="CODE", type=language_arg,
                   help="e.g. en, de, or per source: mic=de,loopback=en; auto: detect (default: the settings)")
    g.add_argument("--vocabulary", metavar="TERMS", type=vocabulary_arg,
                   help='names and jargon to spell as written, comma-separated: "Kubernetes,OpenShift" '
                        "(replaces the settings' [transcription] vocabulary)")
    g.add_argument("--beam-size", type=int, metavar="N")
    g.add_argument("--cpu-threads", type=int, default=0, metavar="N", help="0: leave a core for capture")
    p.add_argument("--label-mic", metavar="TEXT", help='label of mic lines (default "You")')
    p.add_argument("--label-loopback", metavar="TEXT", help='label of loopback lines (default "Them")')
    p.add_argument("--json", action="store_true", help="print one JSON object per segment")
    p.add_argument("--speakers", action=argparse.BooleanOptionalAction, default=None,
                   help='label far-side voices "Them 1", "Them 2", ... (default: settings [speakers] enabled)')
    p.add_argument("--quiet", action="store_true", help="print no status lines (stderr)")


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("transcribe", help="transcribe a recording with the live engine",
                       description="Transcribe an audio file (WAV/FLAC/OGG, or anything FFmpeg reads).")
    t.add_argument("file")
    t.add_argument("--split-stereo", action="store_true",
                   help='left channel = mic ("You"), right channel = loopback ("Them")')
    t.add_argument("-o", "--output", metavar="FILE", help="write the transcript here, in the format its extension names: "
                   f"{extensions()} as `export` writes them, .jsonl one JSON object per segment; "
                   '"-" for standard output (as without -o)')
    model_args(t)
    t.set_defaults(func=cmd_transcribe)


# --- shared ---------------------------------------------------------------------------------------------


def settings_of(args):
    try:
        from meeting_tui.settings import load_settings
    except ModuleNotFoundError:
        return None, []
    loaded = load_settings(getattr(args, "config", None))
    return loaded.settings, list(loaded.warnings)


def model_config(args, settings):
    """The model of the settings file with the command line's overrides."""
    from meeting_tui.transcribe.decode_options import from_args
    from meeting_tui.transcribe.model import ModelConfig

    _, language = from_args(args, settings)
    overrides = dict(name=args.model, device=args.device, compute_type=args.compute_type, language=language,
                     beam_size=args.beam_size, cpu_threads=args.cpu_threads or None)
    if settings is not None:
        return ModelConfig.from_settings(settings.transcription.model, **overrides)
    return ModelConfig(**{k: v for k, v in overrides.items() if v is not None})


def _config(args, settings, mode: Mode, *, partials: bool, style: str | None = None):
    from meeting_tui.transcribe.transcriber import TranscriberConfig

    if settings is not None:
        cfg = TranscriberConfig.from_settings(settings, mode)
        server, cfg.model = cfg.model.server, model_config(args, settings)
        cfg.model.server = server  # the settings' speech server survives a model override
    else:
        cfg = TranscriberConfig(model=model_config(args, settings), sources=mode.sources)
    from meeting_tui.transcribe.decode_options import from_args

    cfg.decode, _ = from_args(args, settings)
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


def speaker_stage(args, settings, has_loopback: bool, prefix: str = "Them"):
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


# --- transcribe -------------------------------------------------------------------------------------------


def file_config(args, settings):
    """The transcriber settings of `transcribe FILE`."""
    mode = Mode.MEETING if args.split_stereo else Mode.MIC
    cfg = _config(args, settings, mode, partials=False, style="separate")
    cfg.sources = mode.sources
    # a file has no real time to keep up with: fed as fast as it decodes, the load governor would step to a
    # smaller beam a few seconds in (busy near 1), at a moment set by the machine's load, not by the audio
    cfg.unpaced()
    if not args.split_stereo and not args.label_mic:
        cfg.labels[Source.MIC] = "Speaker"
    return cfg


def cmd_transcribe(args) -> int:
    from meeting_tui.transcribe.audio_io import AudioFileError, feed_arrays, read_audio
    from meeting_tui.transcribe.transcriber import Transcriber

    settings, warnings = settings_of(args)
    from meeting_tui.wording import print_settings_warnings

    print_settings_warnings(warnings)
    from meeting_tui.session.exports import ExportError, check_output

    if args.output == "-":  # standard output, as `export -o -`: the lines printed without -o
        args.output = None
    try:  # before any work: an output name that says no format is an error listing the formats
        out_fmt = check_output(args.output, extra=("jsonl",), option="") if args.output else None
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        chans = read_audio(args.file, channels="split" if args.split_stereo else "mix")
    except AudioFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.split_stereo:
        streams = {Source.MIC: chans[0], Source.LOOPBACK: chans[1]}
    else:
        streams = {Source.MIC: chans[0]}
    cfg = file_config(args, settings)
    voice_source = Source.LOOPBACK if args.split_stereo else Source.MIC
    speakers = speaker_stage(args, settings, True, prefix=cfg.labels.get(voice_source, "Them"))
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

    from meeting_tui.wording import ProgressLine

    line = ProgressLine("transcribing")  # one line per step when stderr is not a terminal
    tr.drain_and_stop(lambda p: None if args.quiet else line(p.fraction))
    line.end()
    if not args.quiet:
        print(f"[done] {total:.1f} s of audio in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    segments.sort(key=lambda s: (s.start, s.source.value))
    if speakers:
        from meeting_tui.speakers.commands import label_file_segments

        label_file_segments(speakers.labeller, segments, streams[voice_source], voice_source)
    if out_fmt not in (None, "jsonl"):  # a format of export_formats: the writers `export` uses
        from meeting_tui.session.commands import write_output

        return write_output(segments, args.output, out_fmt, labels={s: tr.label(s) for s in Source},
                            meta={"title": os.path.basename(args.file), "duration_s": total},
                            stream=False if args.quiet else sys.stderr)
    as_jsonl = args.json or out_fmt == "jsonl"
    lines = [json.dumps(segment_json(s, s.speaker or tr.label(s.source))) if as_jsonl
             else format_segment(s, s.speaker or tr.label(s.source)) for s in segments]
    text = "\n".join(lines) + ("\n" if lines else "")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0
