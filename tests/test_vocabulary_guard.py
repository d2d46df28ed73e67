"""The vocabulary never costs a sentence: `meeting-tui transcribe` with a glossary writes the names it heard and
puts no name where it was not said, and no sentence reads worse than without the glossary.

Names here are not those of tests/test_vocabulary.py nor bench/vocabulary_bench.py. Measured on the former
prompt ("Glossary: a, b, c.") with tiny.en: "Traefik routes the traffic" became "Treefik, Wazuh, traffic"
(a name never said), "Oksana will review" became "Aksana, we'll review", "Coolify deploys the app" became
"Coolify deploys that happen" (docs/transcription.md, Vocabulary guard).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from meeting_tui.transcribe.vocabulary_guard import is_glossary_list, merge
from meeting_tui.transcribe.wer import wer
from meeting_tui.types import SESSION_RATE
from tests.conftest import REPO, skip_or_fail
from tests.support.speech import have_espeak, say, write_wav

TERMS = ("Oksana", "Fenwick", "Wazuh", "Graylog", "Traefik", "Sentry", "Coolify", "Umami", "Pritchard", "Halvorsen")
SENTENCES = [
    "Oksana will review the budget on Monday.",
    "The Wazuh agent flagged the laptop.",
    "Traefik routes the traffic to the new servers.",
    "Coolify deploys the app in two minutes.",
    "Let us talk about the holiday plans.",
    "Pritchard signed the contract yesterday.",
]
GAP_S = 10.5  # longer than the context gap (context_max_gap_s): each sentence is decoded on its own


def test_a_list_of_fragments_is_told_from_a_sentence():
    assert is_glossary_list("Plimask, Hunter, Mula, Nesk, Ticket, Traefik, Wazuh.", TERMS)
    assert is_glossary_list("Glossary: Oksana, Fenwick.", TERMS)
    assert not is_glossary_list("Oksana, Fenwick and I will review the budget on Monday.", TERMS)
    assert not is_glossary_list("Yes, well, you know, I think so.", TERMS)


def test_merge_keeps_heard_names_and_the_plain_words_around_them():
    assert merge("Coolify deploys that happen 2 minutes.", "If I deploys the app in 2 minutes.", TERMS) == \
        ("Coolify deploys the app in 2 minutes.", [])
    assert merge("Treefik, Wazuh, traffic to the new servers.", "3 figureouts, not traffic to the new servers.",
                 TERMS) == ("3 figureouts, not traffic to the new servers.", ["Wazuh"])
    assert merge("the Graylog export", "the graylog export", TERMS) == ("the Graylog export", [])
    # a name among other changed words goes in place of what was heard like it; the rest stays as heard
    assert merge("Vaultwarden keep, Snasher and Passwarden.", "Wildware then keeps the shared passwords.",
                 ("Vaultwarden",)) == ("Vaultwarden keeps the shared passwords.", [])


@pytest.mark.model
@pytest.mark.slow
def test_transcribe_with_vocabulary_never_worse_and_no_name_unsaid(tiny_model_path, tmp_path):
    if not have_espeak():
        skip_or_fail("espeak-ng is needed to synthesise speech (apt-get install espeak-ng)")
    gap = np.zeros(int(GAP_S * SESSION_RATE), np.float32)
    parts = [np.zeros(SESSION_RATE // 2, np.float32)]
    for s in SENTENCES:
        parts += [say(s), gap]
    wav = write_wav(tmp_path / "call.wav", np.concatenate(parts))
    env = dict(os.environ, HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "none.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))

    def run(*extra: str) -> list[str]:
        out = subprocess.run([sys.executable, "-m", "meeting_tui", "transcribe", str(wav), "--model", tiny_model_path,
                              "--quiet", "--json", *extra], capture_output=True, text=True, env=env, timeout=240)
        assert out.returncode == 0 and out.stderr == "", out.stderr
        return [json.loads(line)["text"] for line in out.stdout.splitlines()]

    plain = run()
    with_terms = run("--vocabulary", ",".join(TERMS))
    assert len(plain) == len(with_terms) == len(SENTENCES), (plain, with_terms)  # one line per sentence
    for said, before, after in zip(SENTENCES, plain, with_terms):
        assert wer(said, after) <= wer(said, before), (said, before, after)
        unsaid = [t for t in TERMS if t in after and t not in said]
        assert not unsaid, (said, after)
    names = [t for t in TERMS if any(t in said and t in line for said, line in zip(SENTENCES, with_terms))]
    assert {"Wazuh", "Coolify", "Pritchard"} <= set(names), with_terms
    assert not {"Wazuh", "Coolify", "Pritchard"} & {t for t in TERMS if t in " ".join(plain)}, plain
