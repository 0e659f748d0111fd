"""Reports and exports: printed results lists, finisher certificates, ticket and bib sheets,
the check-in report, and CSV/JSON/XLSX exports.

Why a separate package that takes plain data: the renderers never touch the store or the results
engine, so they can be tested (and benchmarked) on generated rows, and the app can run them in a worker
thread with a `Progress` that the user cancels. `station.reports.sources` is the one place that turns
event-log entries into that plain data for the CLI.
"""

from station.reports.progress import Cancelled, Progress

__all__ = ["Cancelled", "Progress"]
