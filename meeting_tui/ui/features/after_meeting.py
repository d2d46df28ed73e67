"""After a session: polishing its transcript with a larger model, its minutes."""

from __future__ import annotations

from textual import work


class AfterMeeting:
    """Polish and minutes. Mixed into ``MeetingApp``."""

    def _offer_polish(self, path) -> None:
        from meeting_tui.meeting.polish import polish_offer

        question = polish_offer(path, self.settings)
        if question:
            self._polish_path = path
            self.notify(f"{question} Choose \"Polish the last session\" in the palette (ctrl+p).", title="Polish",
                        timeout=10)

    def action_minutes_last(self) -> None:
        """Make the last session's minutes in the background, or cancel a run (the same key)."""
        from meeting_tui.ui.minutes_offer import minutes_run

        minutes_run(self).toggle()

    def action_minutes_show(self) -> None:
        from meeting_tui.ui.minutes_offer import minutes_run

        minutes_run(self).show()

    @work(thread=True, exclusive=True, group="polish")
    def action_polish_last(self) -> None:
        from meeting_tui.meeting.polish import PolishConfig, PolishJob

        path = getattr(self, "_polish_path", None) or self.last_session
        if path is None:
            self.call_from_thread(self.notify, "No session to polish yet.", title="Polish")
            return
        shown = {"pct": -10}

        def progress(p) -> None:
            pct = int(getattr(p, "fraction", p) * 100)
            if pct >= shown["pct"] + 25:
                shown["pct"] = pct
                self.call_from_thread(self.notify, f"Polishing {path.name}: {pct}%", title="Polish")

        job = PolishJob(path, PolishConfig.from_settings(self.settings), on_progress=progress)
        result = job.run()  # its message names the model, or why not (never raises: PolishJob says it)
        self.call_from_thread(self.notify, result.message, title="Polish", timeout=15,
                              severity="information" if result.ok else "error")
