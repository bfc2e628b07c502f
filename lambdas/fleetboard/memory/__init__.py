"""What the board remembers between passes: since when each environment, check, issue and
the fleet has shown what it shows, and what changed in the last 24 hours.

`timeline.py` is pure: (what the board remembered, this pass's board) -> (the board with its
since-times and recent changes, what it remembers now). `saved.py` keeps the timeline beside
the board (`state/timeline.json`) and rebuilds what it can from the last latest.json when
that state is lost or unreadable, saying so on the page; it never fails a pass.
"""

from fleetboard.memory.saved import load, save
from fleetboard.memory.timeline import Timeline, remember
from fleetboard.memory.uptime import rollup

__all__ = ["Timeline", "load", "remember", "rollup", "save"]
