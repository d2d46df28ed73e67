"""The endpoint's key from the OS keyring, from the user's seat: a real keyring backend (keyrings.alt's file
backend, chosen the way a user would, with PYTHON_KEYRING_BACKEND) holds the key under service "meeting-tui"
and the endpoint's URL; `meeting-tui minutes` (a subprocess) sends it to a real server on localhost that
refuses any other, and no file meeting-tui writes contains it."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from tests.test_minutes_llm import cli, make_session, server_factory, settings_file  # noqa: F401 (fixture)

pytest.importorskip("keyrings.alt")
KEY = "kr-7f3a9c51e2d8"
BACKEND = "keyrings.alt.file.PlaintextKeyring"


def test_the_endpoint_key_comes_from_the_os_keyring_and_is_never_written(tmp_path, server_factory):
    server = server_factory("--first-line", "--key", KEY)
    keyring_home = tmp_path / "keyring-home"  # the backend's own store (XDG_DATA_HOME/python_keyring)
    env = dict(PYTHON_KEYRING_BACKEND=BACKEND, XDG_DATA_HOME=str(keyring_home))
    store = subprocess.run([sys.executable, "-c", "import sys, keyring; keyring.set_password(*sys.argv[1:])",
                            "meeting-tui", server.url, KEY], env=dict(__import__("os").environ, **env),
                           capture_output=True, text=True, timeout=60)
    assert store.returncode == 0, store.stderr
    assert any(keyring_home.rglob("*.cfg")), "the backend stored nothing"
    session = make_session(tmp_path)
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{server.url}"\nmodel = "smollm2"\n'
                            'api_key_env = "MT_KEYRING_TEST_UNSET"\n')
    res = cli(tmp_path, "minutes", session.id, "-o", str(tmp_path / "copy.md"), **env)
    assert res.returncode == 0, res.stderr
    assert "minutes by openai (smollm2)" in res.stderr, res.stderr
    assert [r["auth"] for r in server.requests()] == [f"Bearer {KEY}"]  # the keyring's key reached the server
    assert (session.path / "minutes.md").is_file()
    encoded = (KEY.encode(), base64.b64encode(KEY.encode()))
    ours = [p for root in (tmp_path / "data", tmp_path / "cfg", tmp_path / "copy.md")
            for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    assert len(ours) >= 3, ours  # settings, journal, minutes (and the copy)
    for path in ours:
        assert not any(k in path.read_bytes() for k in encoded), path
    assert KEY not in res.stdout + res.stderr
    # Another endpoint's key is not this one: the keyring is asked for this URL, the server refuses.
    other = server_factory("--first-line", "--key", KEY)
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{other.url}"\nmodel = "smollm2"\n')
    res = cli(tmp_path, "minutes", session.id, **env)
    assert res.returncode == 1 and "HTTP 401" in res.stderr, res.stderr
