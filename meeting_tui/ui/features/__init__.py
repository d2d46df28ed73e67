"""The dashboard's features, one mixin each (devices, gains, sessions, saving...), mixed into ``MeetingApp``.

Each holds its ``action_*`` methods (named by ``ui/actions.py``) and the handlers and workers behind them;
they share the app's state (``self.core``, ``self.settings``, the widgets). ``ui/app.py`` is layout and wiring.
"""
