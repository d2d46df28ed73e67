"""One action registry (ui/actions.py): the footer's bindings, the palette and the help screen are all made from
``ACTIONS``, every entry names a method the app has, and a remapped key shows in the help (Pilot, no engine)."""

from __future__ import annotations

import inspect

from textual.actions import parse as parse_action

from meeting_tui.export_formats import FORMAT_NAMES
from meeting_tui.ui.actions import ACTIONS, bindings, help_rows
from meeting_tui.ui.app import MeetingApp
from meeting_tui.ui.screens.help import HelpScreen
from tests.ui_conftest_helpers import snapshot_app, wait_for, write_settings


def test_every_action_names_a_method_of_the_app_that_takes_its_arguments():
    for action in ACTIONS:
        handler = action.handler.format("x") if action.each else action.handler
        _, name, args = parse_action(handler)
        method = getattr(MeetingApp, f"action_{name}", None)
        assert callable(method), f"{action.handler}: MeetingApp has no action_{name}"
        inspect.signature(method).bind(None, *args)  # raises TypeError when the arguments do not fit


def test_bindings_are_the_keyed_actions_in_order_with_unique_ids():
    keyed = [a for a in ACTIONS if a.key]
    assert [(b.key, b.action, b.id) for b in MeetingApp.BINDINGS] == [(a.key, a.handler, a.id) for a in keyed]
    ids = [b.id for b in bindings()]
    assert all(ids) and len(ids) == len(set(ids))


def test_help_rows_follow_the_keymap():
    rows = dict((desc, keys) for keys, desc in help_rows({"save": "f6"}, lambda k: k))
    assert rows["Save  (save)"] == "f6"
    assert rows["Help  (help)"] == "f1 / question_mark"
    assert len(rows) == sum(1 for a in ACTIONS if a.key) + 2  # and the palette and scrolling rows


async def test_palette_help_and_export_cycle_come_from_the_registries():
    write_settings('[ui.keymap]\nsave = "f6"\n')
    app = snapshot_app()
    async with app.run_test(size=(110, 34)) as pilot:
        titles = [t for t, _, _ in app.palette_commands()]
        assert len(titles) == len(set(titles))
        for name in FORMAT_NAMES:
            assert f"Export format: {name}" in titles
        plain = [a.palette for a in ACTIONS if isinstance(a.palette, str) and a.each is None and a.when is None]
        assert all(p in titles for p in plain)
        # The help screen shows the user's key for Save.
        await pilot.press("f1")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert ("f6", "Save  (save)") in app.screen.keys
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        # `e` goes through every format of the registry and back, the status line saying which.
        seen = [app.settings.session.export_format]
        for _ in FORMAT_NAMES:
            await pilot.press("e")
            assert await wait_for(pilot, lambda: f"save as {app.settings.session.export_format}"
                                  in app.status.renderable_text)
            seen.append(app.settings.session.export_format)
        assert sorted(seen[:-1]) == sorted(FORMAT_NAMES) and seen[-1] == seen[0]
