"""Quitting: the transcript drained first; a second ctrl+q leaves at once."""

from __future__ import annotations

from textual import work


class QuitControl:
    """Quit. Mixed into ``MeetingApp``."""

    async def action_quit(self) -> None:
        if self._quitting:
            self.exit(1)  # a second ctrl+q while draining: leave now (the journal is already durable)
            return
        self._quitting = True
        if self.core.recording:
            self.notify("Finishing the transcript before quitting… (ctrl+q again to quit at once)",
                        title="Quit", timeout=30)
        self._drain_and_exit()

    @work(exclusive=True, group="shutdown")
    async def _drain_and_exit(self) -> None:
        try:
            path = await self.core.shutdown()
            if path is not None:
                self.last_session = path
        finally:
            self.flush_settings()
            self.exit(0)
