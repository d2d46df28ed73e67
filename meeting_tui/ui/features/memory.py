"""Past meetings: search, the sessions list, following calls."""

from __future__ import annotations


class MemoryControl:
    """Search, past sessions, call following. Mixed into ``MeetingApp``."""

    def action_search(self) -> None:
        from meeting_tui.ui.screens.search import SearchScreen

        self.push_screen(SearchScreen(self.core.sessions_dir, self.settings.ui.labels.as_dict()))

    def action_follow_calls(self) -> None:
        from meeting_tui.ui.call_follow import CallFollower

        if getattr(self, "call_follower", None) is None:
            self.call_follower = CallFollower(self)
        self.call_follower.toggle()

    def action_past_sessions(self) -> None:
        from meeting_tui.ui.screens.sessions import SessionsScreen

        self.push_screen(SessionsScreen(self.core.sessions_dir, self.settings))
