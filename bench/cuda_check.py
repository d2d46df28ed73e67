"""CUDA float16 end to end: load a model on the GPU, transcribe a bundled recording, check the words.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/cuda_check.py [--model NAME_OR_FOLDER]

Loads through meeting-tui's own loader (device="cuda", compute_type="float16", no CPU fallback), decodes
the demo's jfk.flac excerpt as a live final (sized encoder window, beam 5) and with faster-whisper's plain
transcribe(), prints WER and real-time factor for both, and exits non-zero if CUDA is missing, the model
does not load on it, or the WER exceeds 0.15. Default model: the bundled tiny.en.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bundled")
    ap.add_argument("--max-wer", type=float, default=0.15)
    ap.add_argument("--device", default="cuda", help="cpu: a dry run of this script without a GPU")
    ap.add_argument("--compute-type", default="float16")
    args = ap.parse_args()
    import ctranslate2

    from meeting_tui.transcribe.model import ModelConfig, load_model
    from meeting_tui.transcribe.model_select import speech_sample
    from meeting_tui.transcribe.window import FINAL_WINDOW
    from meeting_tui.transcribe.wer import wer_details
    from meeting_tui.transcribe.window import sized_window

    n = ctranslate2.get_cuda_device_count()
    print(f"ctranslate2 {ctranslate2.__version__}: {n} CUDA device(s)")
    if n < 1 and args.device == "cuda":
        print("FAIL: no CUDA device visible to CTranslate2")
        return 2
    print("compute types:", sorted(ctranslate2.get_supported_compute_types(args.device)))
    try:
        loaded = load_model(ModelConfig(args.model, device=args.device, compute_type=args.compute_type,
                                         bundled_fallback=False))
    except Exception as exc:
        print(f"FAIL: {exc}")
        return 3
    if loaded.device != args.device or loaded.compute_type != args.compute_type:
        print(f"FAIL: loaded on {loaded.device} ({loaded.compute_type})")
        return 3
    model = loaded.model
    audio = speech_sample()
    seconds = len(audio) / 16000
    opts = dict(language="en", beam_size=5, vad_filter=False, condition_on_previous_text=False)
    list(model.transcribe(audio[:32000], **opts)[0])  # warm-up: CUDA kernels, cuBLAS handles
    worst = 0.0
    for label, window in (("live (sized window)", FINAL_WINDOW), ("offline (30 s window)", None)):
        t0 = time.perf_counter()
        if window is None:
            text = " ".join(s.text for s in model.transcribe(audio, **opts)[0])
        else:
            with sized_window(model, window, len(audio)):
                text = " ".join(s.text for s in model.transcribe(audio, **opts)[0])
        dt = time.perf_counter() - t0
        wer = wer_details(JFK, text).wer
        worst = max(worst, wer)
        print(f"{label}: WER {wer:.3f}, {dt / seconds:.4f} s per second of speech ({dt:.3f} s for "
              f"{seconds:.1f} s): {text.strip()}")
    print(f"model {loaded.name} ({loaded.path}) on {loaded.device} ({loaded.compute_type})")
    if worst > args.max_wer:
        print(f"FAIL: WER {worst:.3f} > {args.max_wer}")
        return 4
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
