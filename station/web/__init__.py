"""Public results pages (runners, spectators, the announcer), shared by a station and the ledger.

Qt-free. `station.web.board` turns engine results into what may be shown in public (privacy applied
once, here); `station.web.sources` says where results come from (a station's live store, or anything
else implementing `ResultsSource` — the ledger's published results); `station.web.app` serves them
(FastAPI router, Jinja2 templates shipped as package data).
"""
