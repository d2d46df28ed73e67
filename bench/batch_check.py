"""Is a batched decode of both sources cheaper than two decodes? (The measurement behind not batching.)

    HF_HUB_OFFLINE=1 .venv/bin/python bench/batch_check.py [--model M] [--threads N] [--repeat R]

Encodes two real utterances (jfk.flac and the left side of stereo_diarization.wav, 10 s windows, as finals
are encoded) one at a time and as one batch of two, then greedy-decodes them the same two ways, with
CTranslate2 directly; prints process CPU seconds for each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bundled")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import ctranslate2

    from meeting_tui.transcribe.audio_io import read_audio
    from meeting_tui.transcribe.model import ModelConfig, load_model
    from meeting_tui.transcribe.window import FINAL_WINDOW

    shared = REPO.parent / "shared" / "audio"
    a = read_audio(shared / "jfk.flac")[0]
    b = read_audio(shared / "stereo_diarization.wav", channels="split")[0]
    loaded = load_model(ModelConfig(args.model, cpu_threads=args.threads))
    wm = loaded.model
    frames = max(FINAL_WINDOW.frames(len(a)), FINAL_WINDOW.frames(len(b)))
    feats = [np.pad(f, ((0, 0), (0, max(0, frames - f.shape[-1]))))[:, :frames]
             for f in (wm.feature_extractor(a), wm.feature_extractor(b))]

    def cpu(fn) -> float:
        c0 = time.process_time()
        for _ in range(args.repeat):
            fn()
        return (time.process_time() - c0) / args.repeat

    one = lambda f: ctranslate2.StorageView.from_array(np.ascontiguousarray(f[None], np.float32))  # noqa: E731
    both = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(feats), np.float32))
    single_enc = cpu(lambda: [wm.model.encode(one(f)) for f in feats])
    batch_enc = cpu(lambda: wm.model.encode(both))
    outs = [wm.model.encode(one(f)) for f in feats]
    enc2 = wm.model.encode(both)
    sot = wm.hf_tokenizer.token_to_id("<|startoftranscript|>")
    notimestamps = wm.hf_tokenizer.token_to_id("<|notimestamps|>")
    p = [sot, notimestamps] if not wm.model.is_multilingual else [sot, wm.hf_tokenizer.token_to_id("<|en|>"),
                                                                  wm.hf_tokenizer.token_to_id("<|transcribe|>"),
                                                                  notimestamps]
    single_gen = cpu(lambda: [wm.model.generate(o, [p], beam_size=5) for o in outs])
    batch_gen = cpu(lambda: wm.model.generate(enc2, [p, p], beam_size=5))
    print(f"model {loaded.name}, {args.threads} thread(s), window {frames} frames, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"encode: two single {single_enc:.3f} s CPU, one batch of two {batch_enc:.3f} s "
          f"({batch_enc / single_enc:.2f}x)")
    print(f"decode (beam 5): two single {single_gen:.3f} s, one batch of two {batch_gen:.3f} s "
          f"({batch_gen / single_gen:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
