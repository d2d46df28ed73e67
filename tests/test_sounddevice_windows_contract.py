"""Contract test: the sounddevice backend's Windows device resolution, fed sounddevice's documented
``query_devices()`` / ``query_hostapis()`` shapes (a list of dicts with name, hostapi, max_input_channels,
default_samplerate; host API dicts with name). Runs on every OS: no audio is opened."""

import pytest

from meeting_tui.capture.backends.base import CaptureError
from meeting_tui.capture.backends.sounddevice_backend import SoundDeviceBackend

HOSTAPIS = [{"name": "MME"}, {"name": "Windows DirectSound"}, {"name": "Windows WASAPI"}]
LONG = "Microphone Array (Intel Smart Sound Technology for Digital Microphones)"
DEVICES = [
    {"name": "Microsoft Sound Mapper - Input", "hostapi": 0, "max_input_channels": 2, "default_samplerate": 44100.0},
    {"name": LONG[:31], "hostapi": 0, "max_input_channels": 2, "default_samplerate": 44100.0},
    {"name": LONG, "hostapi": 1, "max_input_channels": 2, "default_samplerate": 44100.0},
    {"name": "Speakers (Realtek(R) Audio)", "hostapi": 2, "max_input_channels": 0, "default_samplerate": 48000.0},
    {"name": LONG, "hostapi": 2, "max_input_channels": 2, "default_samplerate": 48000.0},
]


class DocumentedSounddevice:
    """Only what sounddevice documents for these two calls."""

    def query_devices(self, device=None, kind=None):
        return DEVICES if device is None else DEVICES[device]

    def query_hostapis(self, index=None):
        return HOSTAPIS if index is None else HOSTAPIS[index]


@pytest.mark.parametrize("name,hostapi,expected", [
    (LONG, "Windows WASAPI", 4),
    (LONG, "Windows DirectSound", 2),
    (LONG[:31], "MME", 1),
    (LONG[:31], "Windows WASAPI", 4),  # a stored MME name finds the WASAPI entry of the same device
    (LONG, "Windows WDM-KS", 4),  # that host API has no such device: the preferred one that has it
])
def test_resolves_by_name_and_host_api(name, hostapi, expected):
    idx, info = SoundDeviceBackend(name, hostapi)._resolve_windows(DocumentedSounddevice())
    assert idx == expected and info is DEVICES[expected]


def test_missing_device_names_the_fix():
    with pytest.raises(CaptureError) as err:
        SoundDeviceBackend("USB Headset", "Windows WASAPI")._resolve_windows(DocumentedSounddevice())
    assert "meeting-tui devices" in err.value.hint


def test_mic_list_hides_wdm_ks_and_shows_each_device_once_under_wasapi():
    from meeting_tui.capture import wasapi_names

    apis = [{"name": "MME", "default_input_device": 0}, {"name": "Windows DirectSound", "default_input_device": 2},
            {"name": "Windows WASAPI", "default_input_device": 4}, {"name": "Windows WDM-KS", "default_input_device": 5}]
    devices = DEVICES + [{"name": "Microphone Array 1 (Intel® Smart Sound)", "hostapi": 3, "max_input_channels": 4,
                          "default_samplerate": 16000.0},
                         {"name": LONG, "hostapi": 3, "max_input_channels": 2, "default_samplerate": 48000.0}]
    rows = wasapi_names.windows_mic_rows(devices, apis)
    assert [(r["name"], r["hostapi"]) for r in rows] == [(LONG, "Windows WASAPI"),
                                                         ("Microsoft Sound Mapper - Input", "MME")]
    assert rows[0]["is_default"] and not rows[1]["is_default"]


def test_a_wasapi_mic_block_is_stamped_when_it_began_not_a_block_late():
    """pa_win_wasapi.c sets inputBufferAdcTime to now + the buffer's padding: taken at its word, the lag
    is negative and the block was stamped at the callback (one block late against the loopback)."""
    from meeting_tui.capture.backends.sounddevice_backend import block_capture_time

    now, current, frames, rate = 100.0, 50.0, 480, 48000
    wasapi = block_capture_time(now, frames, rate, current, current + 0.01, wasapi=True)
    assert wasapi == pytest.approx(now - 0.01)  # began one 10 ms block before the callback
    assert block_capture_time(now, frames, rate, current, current + 0.01, wasapi=False) == pytest.approx(now - 0.01)
    # ALSA and PulseAudio report the ADC time of the first frame: trusted as it is.
    assert block_capture_time(now, frames, rate, current, current - 0.025, wasapi=False) == pytest.approx(now - 0.025)
    assert block_capture_time(now, frames, rate, current, 0.0, wasapi=False) == pytest.approx(now - 0.01)
