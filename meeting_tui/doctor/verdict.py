"""The doctor's verdict from its probes: the recommended mode and devices, the warnings, the printed report,
and saving the recommendation to the settings."""

from __future__ import annotations

from pathlib import Path

from meeting_tui.capture.wasapi_names import WASAPI, is_hands_free
from meeting_tui.doctor.findings import ECHO_CORR, DoctorReport, ProbeResult, Recommendation
from meeting_tui.doctor.plan import Plan
from meeting_tui.types import Mode, Source



def _virtual_mix_device(names: list[str]) -> str | None:
    for n in names:
        low = n.lower()
        if "voicemeeter out" in low or "voicemeeter output" in low:
            return n
    return None


def recommend(probes: list[ProbeResult], plan: Plan, *, tone: bool = True, device_names: list[str] | None = None) -> Recommendation:
    by = {p.name: p for p in probes}

    def loop_ok(p: ProbeResult) -> bool:
        if p.live(Source.LOOPBACK):
            return True
        lb = p.sources.get("loopback")
        return not tone and not p.error and lb is not None and lb.state in ("idle", "silent")

    def mic_opened(p: ProbeResult) -> bool:
        # Exact zeros from an open mic: muted, or a noise gate while nobody spoke. The mode works either way
        # (warnings_for says so); calling it broken made the advice flip with a pause in the room.
        m = p.sources.get("mic")
        return p.live(Source.MIC) or (not p.error and m is not None and m.state in ("silent", "low"))

    sep = by.get("separate")
    if sep and not sep.error and mic_opened(sep) and loop_ok(sep):
        return Recommendation("meeting", Mode.MEETING, "Meeting (two subprocesses): mic and system audio both live, each "
                              "in its own capture process.", plan.mic, plan.loopback, plan.mic_hostapi,
                              plan.loopback_hostapi)
    ffp = by.get("ffmpeg")
    ff_api = "ffmpeg " + ("dshow" if plan.platform == "win32" else "avfoundation" if plan.platform == "darwin" else "pulse")
    if ffp and not ffp.error and mic_opened(ffp) and loop_ok(ffp):
        return Recommendation("meeting-ffmpeg", Mode.MEETING_FFMPEG, "Meeting via FFmpeg: one FFmpeg process captures "
                              "both sources.", plan.ffmpeg_mic, plan.ffmpeg_loopback, ff_api, ff_api)
    mic_ok = any(p.live(Source.MIC) for p in probes)
    lb_ok = any(p.live(Source.LOOPBACK) for p in probes)
    vm = _virtual_mix_device(device_names or [])
    if vm or (mic_ok and lb_ok) or (mic_ok and not lb_ok and plan.platform == "win32"):
        return Recommendation("voicemeeter", Mode.MIC,
                              "VoiceMeeter route: mix mic and system audio in VoiceMeeter and capture its output as one "
                              "device in Mic-only mode (see docs/fallbacks.md). Both sources land in one transcript "
                              "line, with no You/Them labels." + (" Each source works alone but not both together."
                                                                  if mic_ok and lb_ok else ""),
                              vm, None, WASAPI if vm else "")
    if mic_ok:
        return Recommendation("mic", Mode.MIC, "Only the microphone works: Mic only. System audio could not be "
                              "captured (see the loopback probe's error).", plan.mic, None, plan.mic_hostapi)
    if lb_ok:
        return Recommendation("loopback", Mode.LOOPBACK, "Only system audio works: Loopback only. The microphone gave "
                              "no signal (muted? blocked by privacy settings? wrong device?).", None, plan.loopback,
                              "", plan.loopback_hostapi)
    return Recommendation("none", None, "Nothing captured audio. Check that a sound device is enabled, the mic is not "
                          "muted, and the OS privacy settings let this terminal use the microphone.")


def warnings_for(probes: list[ProbeResult], plan: Plan, device_names: list[str]) -> list[str]:
    out = []
    names = [n for n in [plan.mic, plan.loopback, *device_names] if n]
    hf = sorted({n for n in names if is_hands_free(n) or "headset_head_unit" in n or "handsfree_head_unit" in n})
    if hf:
        out.append("Bluetooth hands-free endpoint(s): " + ", ".join(hf) + ". Opening a headset's mic switches it to "
                   "call quality and can move the output to another device; prefer the laptop/USB mic and keep the "
                   "headset in stereo (A2DP) mode.")
    corr = max((p.echo_corr for p in probes if p.echo_corr is not None), default=None)
    if corr is not None and corr >= ECHO_CORR:
        out.append(f"Echo: the mic hears the speakers (correlation {corr:.2f} with the test signal). The remote side "
                   "may be transcribed twice: use headphones, or keep echo handling on.")
    for p in probes:
        mic = p.sources.get("mic")
        if mic and mic.state == "silent" and not p.error:
            out.append(f"{p.name}: the mic delivered digital silence (exact zeros): it is muted, blocked by privacy "
                       "settings, or its noise suppression waited for a voice. Speak while the doctor listens to "
                       "tell which.")
            break
    return out


# ------------------------------------------------------------------------------------------- saving

def save_recommendation(rec: Recommendation, config: str | None = None) -> Path:
    """Write the recommended mode (and devices) to the settings file. Isolated so the settings API can change."""
    from meeting_tui import settings as st

    if rec.mode is None:
        raise ValueError("nothing to save: no mode works")
    loaded = st.load_settings(config)
    s = loaded.settings.model_copy(deep=True)  # saved against what was read: only these keys are written
    s.capture.mode = rec.mode
    if rec.mic_device:
        s.capture.mic_device = st.DeviceSetting(name=rec.mic_device, hostapi=rec.hostapi)
    if rec.loopback_device:
        s.capture.loopback_device = st.DeviceSetting(name=rec.loopback_device, hostapi=rec.loopback_hostapi)
    return st.save_settings(s, config, since=loaded.settings)

# ------------------------------------------------------------------------------------------- printing

def _fmt_db(v: float) -> str:
    return "  -inf" if v == float("-inf") else f"{v:6.1f}"


def format_report(report: DoctorReport) -> str:
    lines = ["meeting-tui doctor", ""]
    for p in report.probes:
        head = f"[{p.name}]"
        if p.skipped:
            lines.append(f"{head} skipped: {p.skipped}" + (f" ({p.hint})" if p.hint else ""))
            continue
        status = "OK (both live)" if p.both_live else ("FAILED" if p.error else "")
        lines.append(f"{head} {status}".rstrip())
        for s in p.sources.values():
            lines.append(f"    {s.source:<9} {s.state:<8} rms {_fmt_db(s.rms_db)} dBFS  peak {_fmt_db(s.peak_db)} dBFS  "
                         f"{s.seconds:.1f} s" + (f" (+{s.synthesized_s:.1f} s idle)" if s.synthesized_s else ""))
        if p.echo_corr is not None:
            lines.append(f"    echo correlation {p.echo_corr:.2f}")
        if p.error:
            lines.append(f"    error: {p.error}")
        if p.hint:
            lines.append(f"    hint: {p.hint}")
        for n in p.notes:
            lines.append(f"    {n}")
    lines.append("")
    for w in report.warnings:
        lines.append(f"warning: {w}")
    r = report.recommendation
    lines.append(f"recommended: {r.mode.label if r.mode else 'nothing works yet'} [{r.route}]")
    lines.append(f"    {r.text}")
    return "\n".join(lines)
