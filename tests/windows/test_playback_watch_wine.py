"""Each output's peak meter through COM (IMMDevice::Activate(IAudioMeterInformation), GetPeakValue), the
signal that tells an idle loopback from a dead one or one on the wrong output (capture/playback_watch.py).

Wine 8's MMDevice answers Activate(IID_IAudioMeterInformation) with E_NOINTERFACE (0x80004002) for every
endpoint (seen in this lane), so here the call runs through the real vtable on every render endpoint and the
result is "no evidence": no peaks, and the watcher never acts. Real Windows implements the interface (the
volume mixer's meters); the peaks themselves are unverified until run there (docs/windows.md)."""

from __future__ import annotations

import ctypes


def test_every_render_endpoint_is_asked_for_its_meter_and_wines_answer_leaves_the_watcher_quiet(win_rig):
    from meeting_tui.capture import default_device as dd
    from meeting_tui.capture.playback_watch import activity_reader

    ep = dd.WindowsEndpoints()
    answers = {}

    def activate(dev):
        meter, iid = ctypes.c_void_p(), dd._GUID.parse(dd.IID_IAudioMeterInformation)
        hr = dd._call(dev, dd._DEV_ACTIVATE, ctypes.byref(iid), dd.CLSCTX_ALL, None, ctypes.byref(meter),
                      argtypes=(ctypes.POINTER(dd._GUID), ctypes.c_uint32, ctypes.c_void_p,
                                ctypes.POINTER(ctypes.c_void_p)))
        dd._release(meter)
        return hr & 0xFFFFFFFF

    for endpoint, hr in ep._each(dd.E_RENDER, activate):
        answers[endpoint.name] = hr
    assert "Speakers" in answers and "Quiet Out" in answers, answers
    assert set(answers.values()) <= {0, 0x80004002}, answers  # S_OK (Windows) or E_NOINTERFACE (Wine 8)
    peaks = ep.render_peaks()
    assert len(peaks) == sum(1 for hr in answers.values() if hr == 0)
    assert all(0.0 <= p <= 1.0 for _, p in peaks)
    activity = activity_reader()()
    assert all(not a.playing for a in activity) if not peaks else activity
