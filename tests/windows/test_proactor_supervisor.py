"""The parent's side on Windows: the engine and its supervisors on the Proactor loop, real worker
processes, real pipes, health and levels; a killed worker is restarted; a switched default is followed."""

from __future__ import annotations

import asyncio
import os
import time
import winreg

from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
from meeting_tui.types import DeviceRef, HealthState, Source
from tests.support.capture import Recorder, dominant_freq, wait_for
from tests.windows.conftest import MIC, MIC_HZ, NON_ASCII_HZ, NON_ASCII_OUTPUT, WASAPI


def _hz(rec: Recorder) -> float:
    x = rec.samples(Source.MIC, last_s=0.25)
    return dominant_freq(x) if len(x) >= 4000 else 0.0


def _live(rec: Recorder) -> bool:
    states = rec.states(Source.MIC)
    return bool(states) and states[-1] is HealthState.LIVE


def test_engine_on_the_proactor_loop_reads_health_levels_and_restarts_a_killed_worker(win_rig):
    async def run():
        assert type(asyncio.get_running_loop()).__name__ == "ProactorEventLoop"
        engine = CaptureEngine([WorkerSpec((Source.MIC,), device=DeviceRef(MIC, WASAPI))])
        rec = Recorder()
        engine.add_listener(rec)
        await engine.start()
        try:
            assert await wait_for(lambda: _live(rec) and abs(_hz(rec) - MIC_HZ) < 20, 60), rec.health
            peak = max(lv[Source.MIC].peak_db for _, lv in rec.levels)
            first = engine.worker_pids()[0]
            t = time.monotonic()
            os.kill(first, 9)  # TerminateProcess
            crashed = await wait_for(lambda: rec.first_state_after(Source.MIC, HealthState.CRASHED, t), 30)
            back = await wait_for(lambda: engine.worker_pids() and engine.worker_pids()[0] != first
                                  and rec.first_state_after(Source.MIC, HealthState.LIVE, t), 60)
            return peak, crashed, back, engine.stats()["sources"]["mic"]
        finally:
            await engine.stop()

    peak, crashed, back, stats = asyncio.run(run())
    assert peak > -12  # the rig's tone is at -6 dBFS
    assert crashed and back, stats
    assert stats["restarts"] >= 1 and stats["starts"] >= 2 and stats["device"] == MIC


def test_the_default_microphone_is_followed_and_a_different_communications_default_warned(win_rig):
    """Wine's mmdevapi reads the default endpoints from HKCU\\Software\\Wine\\Drivers\\winepulse.drv
    (what winecfg sets): changing them there is this rig's way of switching the Windows default."""
    from meeting_tui.capture.default_device import WindowsEndpoints

    ep = WindowsEndpoints()
    by_name = {e.name: e for e in ep.endpoints(1)}
    target = by_name[f"Monitor of {NON_ASCII_OUTPUT}"]
    comms = by_name[MIC]
    key = winreg.CreateKey(winreg.HKEY_CURRENT_USER, r"Software\Wine\Drivers\winepulse.drv")
    warnings = []

    class Warn:
        def on_warning(self, text):
            warnings.append(text)

    async def run():
        engine = CaptureEngine([WorkerSpec((Source.MIC,))])  # the default microphone
        rec = Recorder()
        engine.add_listener(rec)
        engine.add_listener(Warn())
        await engine.start()
        try:
            assert await wait_for(lambda: abs(_hz(rec) - MIC_HZ) < 20, 60), rec.health  # Wine's default: the rig's mic
            await asyncio.sleep(1.2)
            t = time.monotonic()
            winreg.SetValueEx(key, "DefaultInput", 0, winreg.REG_SZ, target.id)
            winreg.SetValueEx(key, "DefaultVoiceInput", 0, winreg.REG_SZ, comms.id)
            followed = await wait_for(lambda: abs(_hz(rec) - NON_ASCII_HZ) < 20, 60)
            return followed, time.monotonic() - t, list(engine.default_follower.restarts)
        finally:
            await engine.stop()

    try:
        followed, seconds, restarts = asyncio.run(run())
    finally:
        for name in ("DefaultInput", "DefaultVoiceInput"):
            try:
                winreg.DeleteValue(key, name)
            except OSError:
                pass
    assert followed, restarts
    assert restarts and NON_ASCII_OUTPUT in restarts[0]
    assert any("communications microphone is 'VirtualMic'" in w for w in warnings), warnings
    print(f"followed the default microphone in {seconds:.2f} s")
