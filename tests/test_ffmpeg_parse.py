"""FFmpeg fallback: listing parsers, stderr classification, command building, install hints.

The listings in tests/data/ffmpeg/ follow the exact strings libavdevice/dshow.c prints: since FFmpeg 5,
``"%s"`` + `` (audio)``/`` (audio, video)``/`` (none)`` then ``  Alternative name "%s"``; before, a
``DirectShow audio devices`` header, `` "%s"`` and ``    Alternative name "%s"``.
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from meeting_tui.capture import ffmpeg as ff

DATA = os.path.join(os.path.dirname(__file__), "data", "ffmpeg")


def fixture(name: str) -> str:
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


def test_new_dshow_listing():
    devices = ff.parse_dshow_listing(fixture("dshow_list_new.txt"))
    names = [d.name for d in devices]
    assert names == [
        "Integrated Camera", "OBS Virtual Camera", "Elgato HD60 S+",
        "Microphone Array (Intel® Smart Sound Technology for Digital Microphones)",
        "Stereo Mix (Realtek(R) Audio)", "CABLE Output (VB-Audio Virtual Cable)",
        "Headset (WH-1000XM4 Hands-Free AG Audio)", "Line 1: Studio Mic (Focusrite USB)",
        "Voicemeeter Out B1 (VB-Audio Voicemeeter VAIO)",
    ]
    by = {d.name: d for d in devices}
    assert by["Integrated Camera"].types == ("video",)
    assert by["OBS Virtual Camera"].types == ()
    assert by["Elgato HD60 S+"].types == ("audio", "video")
    assert by["Stereo Mix (Realtek(R) Audio)"].alternative_name.startswith("@device_cm_{33D9A762")
    audio = [d.name for d in ff.dshow_audio_devices(fixture("dshow_list_new.txt"))]
    assert "Integrated Camera" not in audio and "Elgato HD60 S+" in audio and len(audio) == 7


def test_old_dshow_listing():
    devices = ff.parse_dshow_listing(fixture("dshow_list_old.txt"))
    assert [(d.name, d.types) for d in devices] == [
        ("USB2.0 HD UVC WebCam", ("video",)),
        ("Microphone (Realtek High Definition Audio)", ("audio",)),
        ("Stereo Mix (Realtek High Definition Audio)", ("audio",)),
        ("Mic 2: Rode NT-USB", ("audio",)),
    ]
    assert all(d.alternative_name.startswith("@device_") for d in devices)


def test_colon_names_use_the_alternative_name():
    for text in (fixture("dshow_list_new.txt"), fixture("dshow_list_old.txt")):
        for d in ff.dshow_audio_devices(text):
            if ":" in d.name:
                assert d.input_name == d.alternative_name and d.input_name.startswith("@device_cm_")
            else:
                assert d.input_name == d.name


def test_loopback_recognition():
    audio = ff.dshow_audio_devices(fixture("dshow_list_new.txt"))
    loops = [d.name for d in audio if ff.looks_like_loopback(d.name)]
    assert loops == ["Stereo Mix (Realtek(R) Audio)", "CABLE Output (VB-Audio Virtual Cable)",
                     "Voicemeeter Out B1 (VB-Audio Voicemeeter VAIO)"]


def test_avfoundation_and_pulse_listings():
    assert ff.parse_avfoundation_listing(fixture("avfoundation_list.txt")) == [
        (0, "MacBook Pro Microphone"), (1, "BlackHole 2ch"), (2, "ZoomAudioDevice")]
    sources = ff.parse_pulse_sources(fixture("pulse_sources.txt"))
    assert [s["name"] for s in sources] == [
        "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor", "alsa_input.pci-0000_00_1f.3.analog-stereo",
        "bluez_input.AC_80_0A_11_22_33.0"]
    assert [s["is_default"] for s in sources] == [False, True, False]
    assert [s["is_monitor"] for s in sources] == [True, False, False]


def test_stderr_classification():
    lines = [ff.classify_stderr(l) for l in fixture("dshow_not_found.txt").splitlines()]
    assert lines[0].fatal and lines[0].text.startswith("Could not find audio only device with name [Stereo Mix")
    assert lines[3].fatal and lines[3].text == "Error opening input: I/O error"
    running = [ff.classify_stderr(l) for l in fixture("dshow_running.txt").splitlines()]
    assert [l.level for l in running] == ["warning", "error", "warning"]
    assert not any(l.fatal for l in running)  # a dropped dshow buffer is not the end
    pulse = ff.classify_stderr("[error] nosuch: Input/output error\n")
    assert pulse.fatal and pulse.level == "error" and pulse.text == "nosuch: Input/output error"
    assert ff.classify_stderr("[fatal] something odd").fatal
    assert not ff.classify_stderr("[info] size=N/A time=00:00:01.00").fatal


def test_error_hints():
    assert "Stereo Mix" in ff.error_hint("Could not find audio only device with name [X]", "dshow")
    assert "pactl" in ff.error_hint("nosuch: Input/output error", "pulse")


def test_command_amerge():
    mic = ff.make_input("Microphone (Realtek(R) Audio)", "dshow")
    lb = ff.make_input("@device_cm_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\wave_{X}", "dshow")
    argv = ff.build_command(mic, lb, ffmpeg="ffmpeg.exe")
    assert argv[:2] == ["ffmpeg.exe", "-nostdin"]
    # the device name is one argv element with no quotes
    assert "audio=Microphone (Realtek(R) Audio)" in argv
    i = argv.index("audio=Microphone (Realtek(R) Audio)")
    assert argv[i - 1] == "-i" and "dshow" in argv[:i]
    assert argv.index("audio=Microphone (Realtek(R) Audio)") < argv.index("audio=@device_cm_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\wave_{X}")
    graph = argv[argv.index("-filter_complex") + 1]
    assert "[mic][lb]amerge=inputs=2" in graph
    assert argv[argv.index("-f", argv.index("-map")) + 1] == "f32le" and argv[-1] == "pipe:1"
    assert argv[argv.index("-ac") + 1] == "2"


def test_command_amix_weights_from_gains():
    argv = ff.build_command(ff.make_input("mic", "pulse"), ff.make_input("speakers.monitor", "pulse"),
                            mix="amix", gains_db=(6.0, -6.0))
    graph = argv[argv.index("-filter_complex") + 1]
    assert "normalize=0" in graph and "weights=1.99526 0.501187" in graph
    assert argv[argv.index("-ac") + 1] == "1"
    with pytest.raises(ValueError):
        ff.filter_graph("concat")


def test_pulse_and_avfoundation_inputs():
    assert ff.make_input("mic", "pulse").argv()[-2:] == ["-i", "mic"]
    assert ff.make_input("1", "avfoundation").argv() == ["-f", "avfoundation", "-i", ":1"]


def test_ffmpeg_missing_gives_install_hint(monkeypatch):
    monkeypatch.delenv("MEETING_TUI_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    ok, hint = ff.ffmpeg_available(platform="win32")
    assert not ok and "winget install" in hint and "PATH" in hint
    assert "brew install ffmpeg" in ff.ffmpeg_available(platform="darwin")[1]
    assert "apt-get install ffmpeg" in ff.ffmpeg_available(platform="linux")[1]
    ok, hint = ff.ffmpeg_available("/no/such/ffmpeg")
    assert not ok and "/no/such/ffmpeg" in hint


def test_ffmpeg_found_via_env(monkeypatch, tmp_path):
    exe = tmp_path / "my-ffmpeg"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("MEETING_TUI_FFMPEG", str(exe))
    assert ff.ffmpeg_available() == (True, str(exe))


def test_real_ffmpeg_accepts_our_filter_graphs():
    """The graphs parse in the installed FFmpeg (lavfi sine sources stand in for the devices)."""
    ok, exe = ff.ffmpeg_available()
    if not ok:
        pytest.skip(exe)
    for mix, ch in (("amerge", 2), ("amix", 1)):
        a = ff.FfmpegInput("lavfi", "sine=frequency=300:sample_rate=44100:duration=0.5")
        b = ff.FfmpegInput("lavfi", "sine=frequency=700:sample_rate=48000:duration=0.5")
        argv = ff.build_command(a, b, ffmpeg=exe, mix=mix)
        out = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr.decode()
        assert len(out.stdout) == pytest.approx(0.5 * 48000 * ch * 4, rel=0.02)
