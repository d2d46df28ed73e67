"""Encoder window policy vs accuracy and cost: the data behind FINAL_WINDOW and PARTIAL_WINDOW.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/window_bench.py [--model PATH_OR_NAME] [--threads N]

Uses transcribe_bench's recording (jfk.flac, both sides of stereo_diarization.wav, 18 espeak-ng
sentences; known text per utterance).

- finals: the recording is fed (unpaced) through the Transcriber, partials off, once per policy: WER of
  the final lines and Whisper CPU seconds, exactly as the live path decodes (beam, context, filters).
- partials: each utterance decoded on its own as a partial is (greedy, no timestamps): WER and CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transcribe_bench import build_recording  # noqa: E402

from meeting_tui.transcribe.audio_io import feed_arrays, read_audio  # noqa: E402
from meeting_tui.transcribe.wer import wer_details  # noqa: E402
from meeting_tui.transcribe.window import FULL, WindowPolicy, sized_window  # noqa: E402
from meeting_tui.types import SESSION_RATE, Source  # noqa: E402

FINAL_POLICIES = [FULL, WindowPolicy(1.0, 0.0), WindowPolicy(2.0, 5.0), WindowPolicy(2.0, 8.0),
                  WindowPolicy(2.0, 10.0), WindowPolicy(3.0, 12.0)]
PARTIAL_POLICIES = [FULL, WindowPolicy(1.0, 0.0), WindowPolicy(1.0, 3.0), WindowPolicy(2.0, 5.0),
                    WindowPolicy(2.0, 8.0)]


def finals(loaded, model_cfg, audio, reference, policy) -> tuple[float, float, float]:
    from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig

    lines = []
    cfg = TranscriberConfig(model=model_cfg, sources=(Source.MIC,), partials=False, final_window=policy)
    tr = Transcriber(cfg, model=loaded, on_segment=lambda s: lines.append(s)).start()
    feed_arrays(tr, {Source.MIC: audio})
    tr.drain_and_stop()
    st = tr.stats()
    text = " ".join(s.text for s in sorted(lines, key=lambda s: s.start))
    return wer_details(reference, text).wer, st.asr_cpu_s, st.asr_final_s


def partials(loaded, audio, refs, policy) -> tuple[float, float]:
    model = loaded.model
    hyp, c0 = [], time.process_time()
    for r0, r1, _ in refs:
        piece = audio[max(0, int((r0 - 0.25) * SESSION_RATE)):int((r1 + 0.25) * SESSION_RATE)]
        with sized_window(model, policy, len(piece)):
            segs, _ = model.transcribe(piece, language="en", beam_size=1, temperature=0.0, vad_filter=False,
                                       condition_on_previous_text=False, without_timestamps=True)
            hyp.append(" ".join(s.text for s in segs))
    cpu = time.process_time() - c0
    return wer_details(" ".join(t for _, _, t in refs), " ".join(hyp)).wer, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model name or folder (default: the bundled tiny.en)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--skip-partials", action="store_true")
    args = ap.parse_args()
    from meeting_tui.transcribe.model import ModelConfig, bundled_model_path, default_cpu_threads, load_model

    name = args.model or bundled_model_path()
    threads = args.threads or default_cpu_threads()
    model_cfg = ModelConfig(name, cpu_threads=threads)
    loaded = load_model(model_cfg)
    tmp = Path(tempfile.mkdtemp(prefix="mt-window-"))
    try:
        wav, refs = build_recording(tmp)
        audio = read_audio(wav)[0]
        reference = " ".join(t for _, _, t in refs)
        audio_s = len(audio) / SESSION_RATE
        print(f"model {name}, cpu_threads {threads}, {len(refs)} utterances, {audio_s:.1f} s, "
              f"load average {os.getloadavg()[0]:.2f}")
        print("finals (live path, beam 5, context):")
        for p in FINAL_POLICIES:
            w, cpu, wall = finals(loaded, model_cfg, audio, reference, p)
            print(f"  {p.describe():32s} WER {w * 100:6.2f} %  Whisper CPU {cpu:6.2f} s "
                  f"({cpu / audio_s:.3f} s per audio s)  wall {wall:6.2f} s")
        if not args.skip_partials:
            print("partials (greedy, whole utterance):")
            for p in PARTIAL_POLICIES:
                w, cpu = partials(loaded, audio, refs, p)
                print(f"  {p.describe():32s} WER {w * 100:6.2f} %  CPU {cpu:6.2f} s")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
