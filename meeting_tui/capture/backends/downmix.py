"""Down-mixing a device's channels to what the worker sends (stereo or mono), speech kept at its level."""

from __future__ import annotations

import numpy as np

CENTRE_GAIN = np.float32(0.7071)  # -3 dB: the centre speaker heard from both sides
# WAVEFORMATEXTENSIBLE orders channels by speaker bit: front left, front right, then front centre and LFE
# for the usual masks with a centre (3.0 / 5.1 / 7.1 = 3, 6, 8 channels). Other counts: fronts only.
_CENTRE_AT = {3: 2, 6: 2, 8: 2}


def stereo_downmix(block: np.ndarray) -> np.ndarray:
    """Front left/right plus -3 dB of the centre; LFE and surrounds dropped. A plain mean of 5.1 would put
    speech (centre, or left/right) 10-12 dB down among near-silent channels."""
    n = block.shape[1]
    if n <= 2:
        return block
    left, right = block[:, 0], block[:, 1]
    centre = _CENTRE_AT.get(n)
    if centre is not None:
        c = block[:, centre] * CENTRE_GAIN
        left, right = left + c, right + c
    return np.stack([left, right], axis=1).astype(np.float32, copy=False)


def downmix(block: np.ndarray, channels: int | None) -> np.ndarray:
    """At most ``channels`` (default 2) out of a device's channels: stereo by ``stereo_downmix``, mono
    as the mean of that stereo."""
    out = channels or 2
    if block.shape[1] > 2:
        block = stereo_downmix(block)
    if out == 1 and block.shape[1] > 1:
        return block.mean(axis=1, keepdims=True, dtype=np.float32)
    return block


def output_channels(device_channels: int, channels: int | None) -> int:
    return 1 if channels == 1 or device_channels == 1 else min(2, device_channels)
