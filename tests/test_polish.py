"""Polish after the meeting, from the user's seat: `meeting-tui record` a meeting (two file sources,
audio recorded), `meeting-tui polish` it with the larger multilingual base model, then `export`.
Also: a polish killed mid-line resumes; a session without audio says so; the live journal is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meeting_tui.session.polished import POLISHED_NAME, POLISHED_TORN, read_polished
from meeting_tui.session.store import Session
from meeting_tui.meeting.polish import polish_model_for
from meeting_tui.transcribe.wer import wer
from meeting_tui.types import Mode, Segment, Source
from tests.conftest import REPO, skip_or_fail
from tests.support.multilingual_model import multilingual_model  # noqa: F401 (fixture)
from tests.support.speech import COMMON, JARGON, conversation, have_espeak, write_wav

MIC = COMMON[:3] + JARGON[:2]
LOOPBACK = ["I think the plan looks fine to me.", "Let's check the numbers again on Monday."] + JARGON[2:]


def _env(base: Path) -> dict:
    cfg = base / "cfg.toml"
    if not cfg.exists():
        cfg.write_text("[session]\nrecord_audio = true\n", encoding="utf-8")
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(cfg), MEETING_TUI_DATA_DIR=str(base / "data"),
               PYTHONPATH=str(REPO))
    return env


def cli(base: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], capture_output=True, text=True,
                          env=_env(base), timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, tiny_model_path) -> Path:
    """A finished session with audio recorded: `meeting-tui record` from two espeak-ng files with tiny.en."""
    if not have_espeak():
        skip_or_fail("espeak-ng is needed to synthesise speech (apt-get install espeak-ng)")
    base = tmp_path_factory.mktemp("polish")
    mic = write_wav(base / "mic.wav", conversation(MIC, pause_s=3.0))
    lb = write_wav(base / "loopback.wav", conversation(LOOPBACK, voice="en-gb", pause_s=3.0, lead_s=2.0))
    out = cli(base, "record", "--mic-file", str(mic), "--loopback-file", str(lb), "--speed", "4", "--model",
              tiny_model_path, "--no-echo-guard", "--no-partials", "--quiet")
    assert out.returncode == 0, out.stderr
    (folder,) = (base / "data" / "sessions").iterdir()
    assert sorted(p.name for p in (folder / "audio").iterdir()) == ["loopback.wav", "mic.wav", "mix.wav"]
    return folder


def _copy(folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    base = tmp_path / "b"
    target = base / "data" / "sessions" / folder.name
    shutil.copytree(folder, target)
    return base, target


def _texts(export: str) -> dict[str, str]:
    rows = json.loads(export)["items"]
    return {label: " ".join(r["text"] for r in rows if r.get("text") and r.get("source") == label)
            for label in ("mic", "loopback")}


def test_auto_polish_model_is_one_size_up():
    assert polish_model_for("tiny.en") == "base.en" and polish_model_for("small") == "medium"
    assert polish_model_for("medium.en") == "large-v3" and polish_model_for("large-v3") == "large-v3"
    assert polish_model_for("tiny.en", "small.en") == "small.en"


@pytest.mark.model
@pytest.mark.slow
def test_polish_then_export_uses_the_polished_text(recorded, multilingual_model, tmp_path):
    base, folder = _copy(recorded, tmp_path)
    journal_before = (folder / "journal.jsonl").read_bytes()
    out = cli(base, "polish", folder.name, "--model", multilingual_model)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Polished {folder.name}: ") and "whisper-base-ct2" in out.stdout
    progress = [line for line in out.stderr.splitlines() if line.startswith("[transcribing]")]
    assert len(progress) >= 4 and "mic:" in progress[0] and any("loopback:" in p for p in progress)
    assert out.stderr.splitlines()[-1].startswith("[done]")
    assert (folder / "journal.jsonl").read_bytes() == journal_before  # the live transcript is kept as it was

    md = cli(base, "export", folder.name, "-o", str(tmp_path / "m.md"))
    assert md.returncode == 0 and "(polished after the meeting (whisper-base-ct2, beam 5))" in md.stdout
    assert "polished after the meeting (whisper-base-ct2, beam 5)" in (tmp_path / "m.md").read_text()
    polished = _texts(cli(base, "export", folder.name, "-f", "json", "-o", "-").stdout)
    live = _texts(cli(base, "export", folder.name, "-f", "json", "-o", "-", "--live").stdout)
    # Whisper base offline against live tiny.en (decoded behind context) on a few sentences full of product
    # names: base garbles one or two now and then, differently from run to run (its temperature fallback
    # samples: "Kubernetes" -> "Cuban It's", 0.176 against live 0.132 in one run), and live is often the
    # better of the two here. So one garbled sentence of slack (a clean-clone run: "Move the data into
    # PostgreSQL tonight." -> "Move them later in to post -gerest QL tonight.", 0.33 against live 0.15 on
    # 27 words); a polish that lost a source's audio or mangled it lands far above it (near 1).
    for source, ref in (("mic", MIC), ("loopback", LOOPBACK)):
        assert wer(" ".join(ref), polished[source]) <= wer(" ".join(ref), live[source]) + 0.25, (polished, live)
    assert wer(" ".join(MIC + LOOPBACK), polished["mic"] + " " + polished["loopback"]) <= \
        wer(" ".join(MIC + LOOPBACK), live["mic"] + " " + live["loopback"]) + 0.15

    again = cli(base, "polish", folder.name, "--model", multilingual_model)
    assert again.returncode == 0 and "already polished" in again.stdout and "--restart" in again.stdout


@pytest.mark.model
@pytest.mark.slow
def test_polish_killed_mid_line_resumes_without_losing_or_repeating(recorded, multilingual_model, tmp_path):
    base, folder = _copy(recorded, tmp_path)
    assert cli(base, "polish", folder.name, "--model", multilingual_model).returncode == 0
    full = read_polished(folder)
    assert full is not None and full.complete and len(full.items) >= 6
    # What a kill leaves: the start line, the first three segments, half of the fourth.
    lines = (folder / POLISHED_NAME).read_bytes().split(b"\n")
    (folder / POLISHED_NAME).write_bytes(b"\n".join(lines[:4]) + b"\n" + lines[4][: len(lines[4]) // 2])
    cut = read_polished(folder)
    assert not cut.complete and len(cut.items) == 3 and cut.torn_tail

    listed = cli(base, "export", folder.name, "-f", "txt", "-o", "-")  # meanwhile: the live text, and why
    assert listed.returncode == 0 and "the polish was interrupted" in listed.stdout

    resumed = cli(base, "polish", folder.name, "--model", multilingual_model)
    assert resumed.returncode == 0 and "(resumed)" in resumed.stdout
    assert "set aside a partial last line" in resumed.stdout and (folder / POLISHED_TORN).is_file()
    after = read_polished(folder)
    assert after.complete and after.resumes == 1
    assert [(s.source, s.text) for s in after.items[:3]] == [(s.source, s.text) for s in full.items[:3]]
    for source in (Source.MIC, Source.LOOPBACK):
        starts = [s.start for s in after.items if s.source == source]
        assert starts == sorted(starts) and len(starts) == len(set(starts))  # nothing repeated
    ref = " ".join(s.text for s in full.items)
    assert wer(ref, " ".join(s.text for s in after.items)) <= 0.15  # nothing lost


def test_session_without_audio_says_so(tmp_path):
    base = tmp_path / "b"
    base.mkdir()
    with Session.open(base / "data" / "sessions", mode=Mode.MIC, record_audio=False) as s:
        s.append_segment(Segment(Source.MIC, 0.0, 1.0, "hello", final=True, id=1))
    out = cli(base, "polish", "latest", "--model", "tiny.en")
    assert out.returncode == 1
    assert "has no recorded audio to polish (it was recorded without audio)" in out.stderr
    assert "record_audio = true" in out.stderr and not (s.path / POLISHED_NAME).exists()
    assert cli(base, "polish", "nope").returncode == 2


def test_offer_after_stop_only_with_audio(tmp_path):
    from meeting_tui.settings import Settings
    from meeting_tui.meeting.polish import polish_offer

    settings = Settings()
    with Session.open(tmp_path / "s", mode=Mode.MIC, record_audio=False, model={"name": "tiny.en"}) as quiet:
        pass
    assert polish_offer(quiet.path, settings) is None
    with Session.open(tmp_path / "s", mode=Mode.MIC, record_audio=True, model={"name": "tiny.en"}) as s:
        import numpy as np

        from meeting_tui.types import AudioChunk

        s.on_audio(AudioChunk(Source.MIC, 0, np.full(16000 * 2, 0.1, np.float32)))
        assert polish_offer(s.path, settings) is None  # still recording
    assert polish_offer(s.path, settings) == ("Polish this meeting's transcript with base.en, beam 5? Its audio is "
                                              "kept 30 days ([session] keep_audio_days).")
    with Session.open(tmp_path / "s", mode=Mode.MIC, record_audio=True, model={"name": "base.en"}) as same:
        same.on_audio(AudioChunk(Source.MIC, 0, np.full(16000 * 2, 0.1, np.float32)))
    settings.transcription.polish.model = "base.en"
    assert polish_offer(same.path, settings) is None  # the live model again: nothing to gain, nothing offered
    settings.transcription.polish.offer_after_stop = False
    assert polish_offer(s.path, settings) is None


@pytest.mark.model
@pytest.mark.slow
def test_polish_sigkilled_then_run_again_completes(recorded, multilingual_model, tmp_path):
    import signal
    import time

    base, folder = _copy(recorded, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "polish", folder.name, "--model", multilingual_model,
                             "--cpu-threads", "1", "--quiet"], env=_env(base), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    target = folder / POLISHED_NAME
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if target.exists() and b'"t":"segment"' in target.read_bytes():
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    killed = read_polished(folder)
    assert killed is not None and killed.items and not killed.complete, "polish finished before it could be killed"
    assert (folder / "polish.lock").exists()  # left behind by the kill; the OS lock itself died with it
    resumed = cli(base, "polish", folder.name, "--model", multilingual_model)
    assert resumed.returncode == 0 and "(resumed)" in resumed.stdout, resumed.stderr
    after = read_polished(folder)
    assert after.complete and [s.text for s in after.items[:len(killed.items)]] == [s.text for s in killed.items]
    texts = [s.text for s in after.items]
    assert len(texts) == len(set(texts))  # nothing polished twice
    assert wer(" ".join(MIC + LOOPBACK), " ".join(texts)) <= 0.35


def test_keep_turns_splits_a_merged_segment_at_the_live_lines_and_keeps_their_times():
    from types import SimpleNamespace as NS

    from meeting_tui.meeting.polish_turns import keep_turns
    from meeting_tui.meeting.polish_server import pieces

    live = [(0.7, 2.9, "I think we should hire two more people."), (4.1, 6.3, "For the support team next, Warrior."),
            (8.7, 10.3, "Can you send me the slides?"), (20.0, 21.0, "Bye.")]
    words = [NS(start=s, end=s + 0.3, word=w) for s, w in ((4.2, " For"), (4.6, " the"), (5.0, " support"),
                                                          (5.4, " team"), (8.8, " can"), (9.2, " you"),
                                                          (9.6, " send"), (13.0, " extra"))]
    merged = NS(start=3.0, end=13.5, text="For the support team can you send extra", words=words)  # drifted times
    first = NS(start=0.5, end=2.0, text="I think we should hire two more people.", words=None)
    out = keep_turns([first, merged], live)
    assert [(p.start, p.text, p.polished) for p in out] == [
        (0.7, "I think we should hire two more people.", True), (4.1, "For the support team", True),
        (8.7, "can you send", True), (13.0, "extra", True), (20.0, "Bye.", False)]
    # no word times: the segment's words are shared out by the time it spends in each live line
    plain = keep_turns([NS(start=4.0, end=10.0, text="a b c d e f", words=None)], live[1:3])
    assert [(p.start, p.text) for p in plain] == [(4.1, "a b c d"), (8.7, "e f")]
    audio = np.zeros(16000 * 25, np.float32)
    audio[16000 * 8:16000 * 9] = 0.5  # speech where the first 10 s piece would end: the cut goes before it
    cuts = pieces(audio, piece_s=10.0, seek_s=4.0)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(audio) and all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
    assert all(b - a <= 16000 * 10 for a, b in cuts) and not 16000 * 8 <= cuts[0][1] <= 16000 * 9


def _split_sentences(tmp_path: Path) -> Path:
    """Two sentences each said in two parts with a short pause: the live transcript makes four lines, offline
    tiny.en joins the middle two into one segment at a drifted time."""
    import numpy as np

    from tests.support.speech import say

    gap = lambda s: np.zeros(int(s * 16000), np.float32)  # noqa: E731
    return write_wav(tmp_path / "split.wav", np.concatenate([
        gap(0.5), say("I think we should hire two more people"), gap(0.7), say("for the support team next quarter."),
        gap(2.0), say("Can you send me the slides"), gap(0.7), say("after the meeting with the customer?"), gap(2.0)]))


@pytest.mark.model
@pytest.mark.slow
def test_polish_names_its_model_refuses_the_live_one_and_keeps_every_live_line_and_time(tiny_model_path, tmp_path):
    if not have_espeak():
        skip_or_fail("espeak-ng is needed to synthesise speech (apt-get install espeak-ng)")
    base = tmp_path / "b"
    base.mkdir()
    (base / "cfg.toml").write_text("", encoding="utf-8")  # the defaults: audio is recorded
    rec = cli(base, "record", "--mic-file", str(_split_sentences(tmp_path)), "--speed", "4", "--model", tiny_model_path,
              "--no-partials", "--quiet")
    assert rec.returncode == 0, rec.stderr
    (folder,) = (base / "data" / "sessions").iterdir()
    assert (folder / "audio" / "mic.wav").is_file()
    env_no_cache = {"HF_HOME": str(tmp_path / "hf")}  # base.en is nowhere on this machine, whatever it cached

    auto = subprocess.run([sys.executable, "-m", "meeting_tui", "polish", "latest"], capture_output=True, text=True,
                          env=_env(base) | env_no_cache, timeout=120)
    assert auto.returncode == 1 and "Traceback" not in auto.stderr, auto.stderr
    said = [ln for ln in auto.stderr.splitlines() if not ln.startswith("[loading]")]
    assert len(said) == 1 and said[0].startswith("Polish cannot load base.en:") and "--model" in said[0], auto.stderr
    assert "auto" not in auto.stderr

    (base / "cfg.toml").write_text('[transcription.polish]\nmodel = "tiny.en"\n', encoding="utf-8")
    same = cli(base, "polish", "latest")
    assert same.returncode == 1 and same.stderr.count("no gain") == 1 and "--model base.en" in same.stderr, same.stderr
    assert not (folder / POLISHED_NAME).exists()

    named = cli(base, "polish", "latest", "--model", tiny_model_path, "--quiet")
    assert named.returncode == 0, named.stderr
    assert "with tiny.en (bundled offline)" in named.stdout and "same model as the live transcript" in named.stdout
    live = [r for r in json.loads(cli(base, "export", "latest", "-f", "json", "-o", "-", "--live").stdout)["items"]
            if r.get("text")]
    polished = [r for r in json.loads(cli(base, "export", "latest", "-f", "json", "-o", "-").stdout)["items"]
                if r.get("text")]
    assert len(live) == 4, live
    assert [r["start"] for r in polished] == [r["start"] for r in live], (live, polished)  # none merged, none moved
    for r, word in zip(polished, ("hire", "support", "slides", "customer")):
        assert word in r["text"].lower(), polished


def test_audio_past_keep_audio_days_is_deleted_at_the_next_start_and_polish_says_so(shared_audio, tiny_model_path,
                                                                                     tmp_path):
    import time

    import numpy as np

    from meeting_tui.session.store import read_meta, write_meta
    from meeting_tui.types import AudioChunk

    base = tmp_path / "b"
    base.mkdir()
    (base / "cfg.toml").write_text("[session]\nkeep_audio_days = 30\n", encoding="utf-8")
    with Session.open(base / "data" / "sessions", mode=Mode.MIC, record_audio=True, model={"name": "tiny.en"}) as old:
        old.on_audio(AudioChunk(Source.MIC, 0, np.full(16000 * 2, 0.1, np.float32)))
    meta = read_meta(old.path)
    meta["started_wall"] = time.time() - 40 * 86400
    write_meta(old.path, meta)
    journal = (old.path / "journal.jsonl").read_bytes()
    rec = cli(base, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--speed", "4", "--model", tiny_model_path,
              "--no-partials", "--quiet")
    assert rec.returncode == 0, rec.stderr
    assert not list((old.path / "audio").glob("*.wav")) and (old.path / "journal.jsonl").read_bytes() == journal
    (new,) = [p for p in (base / "data" / "sessions").iterdir() if p != old.path]
    assert (new / "audio" / "mic.wav").stat().st_size > 44  # audio is recorded by default
    out = cli(base, "polish", old.path.name)
    assert out.returncode == 1 and out.stderr.count("no audio left") == 1, out.stderr
    assert "keep_audio_days" in out.stderr
