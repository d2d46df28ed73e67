"""After a session closes: its note in the vault and the end-of-session hook (``memory/finish.py``),
off the event loop, each outcome told to the client once as a notice."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from meeting_tui.meeting.events import NoticeEvent

log = logging.getLogger(__name__)


def finish_now(meeting: Any, folder: Path) -> None:
    from meeting_tui.memory.finish import session_finished

    if meeting.settings is None or (meeting.session_extra or {}).get("demo"):
        return  # the bundled demo's meeting is not the user's: not in their vault, not to their hook
    try:
        notices = session_finished(folder, meeting.settings)
    except Exception:  # a bug here must not cost the meeting: it is already safe on disk
        log.exception("after-session work failed")
        return
    for n in notices:
        meeting._post(NoticeEvent(n.title, n.text, n.severity))


async def finish(meeting: Any, folder: Path) -> None:
    await asyncio.to_thread(finish_now, meeting, folder)
