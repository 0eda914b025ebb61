"""Load: 20 browser sessions reading and writing at once against one server; every write counted.

What this proves is that nothing is lost and nothing errs under 20 sessions at once, not endurance:
each of the 20 does one round (a search on the Examples page, a new example saved on the Write page),
all at the same time (tests/load_kit.py). Afterwards: no exception box was seen, the server logged
no traceback, and the database holds exactly as many marked examples as the sessions saw confirmed.
The soak behind the figures in docs/reliability.md runs the same sessions for minutes:

    .venv/bin/python bench/load.py --seconds 300
"""

from __future__ import annotations

from browser_kit import BROWSER_MARKS
from load_kit import run_load

pytestmark = BROWSER_MARKS


def test_twenty_sessions_read_and_write_at_once_and_every_write_is_there(tmp_path):
    result = run_load(tmp_path, sessions=20, seconds=0)
    print(f"\n{result.summary()}")
    assert not result.problems, "\n".join(result.problems[:20])
    assert "Traceback" not in result.log, result.log[-3000:]
    assert len(result.tallies) == 20 and all(t.writes > 0 and t.reads > 0 for t in result.tallies)
    assert result.stored == result.writes
