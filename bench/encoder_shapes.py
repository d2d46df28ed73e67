"""RSS of tiny.en's encoder over many decodes: one window size, or sizes that vary as live windows do.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/encoder_shapes.py [vary|same] [DECODES]
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=1024 ... (oneDNN's default, the cache before meeting_tui bounded it)

Each decode encodes 1000 frames ("same") or an even count from 1000 to 2998 ("vary", window.py's sized
windows); prints the RSS every 25 decodes and the CPU seconds at the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import meeting_tui.transcribe  # noqa: E402,F401  -- what the app imports first (bounds the cache)


def main() -> int:
    import ctranslate2
    import numpy as np
    import psutil
    from faster_whisper import WhisperModel

    from meeting_tui.meeting.model import bundled_model

    mode = sys.argv[1] if len(sys.argv) > 1 else "vary"
    decodes = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    me = psutil.Process()
    rss = lambda: round(me.memory_info().rss / 2**20, 1)  # noqa: E731
    model = WhisperModel(bundled_model(), device="cpu", compute_type="int8", cpu_threads=1)
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((1, 80, 3000)).astype(np.float32)
    print(f"loaded: {rss()} MB", flush=True)
    for i in range(decodes):
        n = 1000 if mode == "same" else 1000 + 2 * int(rng.integers(0, 1000))
        model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(feats[..., :n])), to_cpu=True)
        if i % 25 == 0:
            print(f"decode {i}: {n} frames, {rss()} MB", flush=True)
    print(f"end: {rss()} MB, CPU {time.process_time():.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
