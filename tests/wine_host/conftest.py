"""Tests run on the Linux side of the Wine lane (.ci/wine-lane sets MEETING_TUI_WINE_HOST=1 and the lane's
paths): they drive Windows programs under Wine from the outside, as a user at the keyboard would. Outside
the lane there is nothing to drive, so they are not collected (the lane fails when it cannot run them)."""

import os

collect_ignore_glob = [] if os.environ.get("MEETING_TUI_WINE_HOST") == "1" else ["test_*.py"]
