"""The JSON document (``"format": "meeting-tui-transcript"``, version 1)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from meeting_tui.export_formats.common import Item, ordered, who
from meeting_tui.types import Note, Segment, Source


def to_json(items: Iterable[Item], labels: dict[Source, str], meta: Mapping[str, Any]) -> str:
    out_items = []
    for item in ordered(items):
        if isinstance(item, Segment):
            rec: dict[str, Any] = {
                "type": "segment",
                "source": item.source.value,
                "speaker": who(item, labels),
                "start": round(item.start, 3),
                "end": round(item.end, 3),
                "text": item.text.strip(),
            }
            if item.confidence is not None:
                rec["confidence"] = round(item.confidence, 4)
            if item.wall_start is not None:
                rec["wall_start"] = round(item.wall_start, 3)
        elif isinstance(item, Note):
            rec = {"type": "note", "kind": item.kind, "text": item.text, "start": round(item.at, 3), "ref": item.ref}
        else:
            rec = {
                "type": "gap",
                "source": item.source.value,
                "speaker": labels[item.source],
                "start": round(item.start_s, 3),
                "end": round(item.end_s, 3),
                "reason": item.reason,
            }
        out_items.append(rec)
    doc = {
        "format": "meeting-tui-transcript",
        "version": 1,
        "meta": dict(meta),
        "labels": {s.value: label for s, label in labels.items()},
        "items": out_items,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
