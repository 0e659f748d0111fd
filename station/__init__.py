"""WO.RUN Station domain core.

Everything a station knows is an append-only entry in its event log; results, check-in verdicts and
sync state are derived from those entries. This package never imports Qt so a timing crew can run a
station headless and the core can be tested without a QApplication.
"""

__version__ = "0.1.0"
