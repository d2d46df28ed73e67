"""Echo guard: the loopback (what the speakers played) as the reference to clean the mic.

- ``EchoGuard``: streaming acoustic echo cancellation of the mic (WebRTC AEC3 via livekit, or a
  spectral gate when livekit is missing), with delay/coupling estimation and an ``echo_present`` flag.
- ``TextEchoFilter``: drops (or marks) "You" segments that repeat recent "Them" words.

Its settings are meeting_tui.settings.EchoSettings. See docs/echo.md.
"""

from meeting_tui.echo.guard import EchoGuard, EchoStatus
from meeting_tui.echo.notice import ECHO_MESSAGE, WRONG_SOURCE_MESSAGE, EchoNotice, Notice, NoticeKind
from meeting_tui.echo.text import EchoVerdict, TextEchoFilter

__all__ = ["ECHO_MESSAGE", "WRONG_SOURCE_MESSAGE", "EchoGuard", "EchoNotice", "EchoStatus", "EchoVerdict",
           "Notice", "NoticeKind", "TextEchoFilter"]
