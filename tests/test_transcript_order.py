"""Every transcript line appears once and in time order: finals out of order, partials replaced, echo
retractions, a resize (unit, on the widget; and through the dashboard's event door with Pilot)."""

from __future__ import annotations


from meeting_tui.meeting import PartialEvent, RetractionEvent, SegmentEvent
from meeting_tui.types import Segment, Source
from meeting_tui.ui.widgets.transcript import Retraction, TranscriptView
from tests.ui_conftest_helpers import WidgetApp, snapshot_app


def screen_text(view: TranscriptView) -> list[str]:
    return ["".join(s.text for s in view.render_line(y)).rstrip() for y in range(view.line_count)]


def assert_once_in_order(view: TranscriptView, expected: list[str]) -> None:
    """Each expected text is on screen exactly once, in this order, and nothing else is."""
    lines = screen_text(view)
    joined = " ".join(" ".join(line.split()) for line in lines)
    positions = []
    for text in expected:
        assert joined.count(text) == 1, (text, lines)
        positions.append(joined.index(text))
    assert positions == sorted(positions), lines
    assert len([s for s in view.segments]) == len(expected)


def seg(source, start, text, id_, final=True, echo=None):
    return Segment(source, start, start + 1.0, text, final=final, id=id_, echo_score=echo)


def scenario():
    """(batch, expected texts after it) steps, as a meeting with overlapping talk produces them."""
    you1 = seg(Source.MIC, 2.0, "you at two", 1)
    them1 = seg(Source.LOOPBACK, 5.0, "them at five", 2)
    echo = seg(Source.MIC, 5.2, "echo words", 3)
    return [
        ([them1], ["them at five"]),
        ([seg(Source.MIC, 2.0, "you at", 1, final=False)], ["them at five"]),  # partial: dimmed, not a final
        ([you1], ["you at two", "them at five"]),  # final earlier than a shown line: inserted above it
        ([echo, seg(Source.LOOPBACK, 1.0, "them at one", 4)], ["them at one", "you at two", "them at five",
                                                               "echo words"]),
        ([Retraction.of(echo, "drop")], ["them at one", "you at two", "them at five"]),
        ([seg(Source.MIC, 0.5, "first of all", 5)], ["first of all", "them at one", "you at two", "them at five"]),
    ]


async def test_widget_lines_once_and_in_order_through_inserts_retractions_and_resize():
    view = TranscriptView()
    app = WidgetApp(view)
    async with app.run_test(size=(70, 20)) as pilot:
        for batch, expected in scenario():
            view.add_batch(batch)
            await pilot.pause()
            assert_once_in_order(view, expected)
        # A long line wraps differently after a resize: still once, still in order.
        view.add_batch([seg(Source.LOOPBACK, 9.0, "a long line " * 12 + "end of it", 6)])
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        expected = ["first of all", "them at one", "you at two", "them at five", "end of it"]
        assert_once_in_order(view, expected)
        await pilot.resize_terminal(100, 20)
        await pilot.pause()
        assert_once_in_order(view, expected)


async def test_marked_echo_stays_once_with_its_flag():
    view = TranscriptView()
    async with WidgetApp(view).run_test(size=(70, 10)) as pilot:
        line = seg(Source.MIC, 1.0, "maybe an echo", 7)
        view.add_batch([line, seg(Source.LOOPBACK, 2.0, "after it", 8)])
        view.add_batch([Retraction.of(seg(Source.MIC, 1.0, "maybe an echo", 7, echo=0.8), "mark")])
        await pilot.pause()
        assert_once_in_order(view, ["maybe an echo", "after it"])
        assert "(echo?)" in " ".join(screen_text(view))


async def test_dashboard_shows_meeting_events_once_and_in_order():
    """The same steps through the dashboard's door for meeting events (what the Meeting sends)."""
    app = snapshot_app()
    async with app.run_test(size=(90, 30)) as pilot:
        door = app.core.listener
        for batch, expected in scenario():
            for item in batch:
                if isinstance(item, Retraction):
                    door.on_event(RetractionEvent(seg(item.source, 0.0, "", item.segment_id), item.action, 0.9))
                elif item.final:
                    door.on_event(SegmentEvent(item))
                else:
                    door.on_event(PartialEvent(item))
            await pilot.pause(0.1)  # the next frame drains the queue
            assert_once_in_order(app.transcript, expected)
        await pilot.resize_terminal(60, 30)
        await pilot.pause(0.1)
        assert_once_in_order(app.transcript, scenario()[-1][1])
