"""The runner detail dialog (Results → double-click): times, ranks, splits, and the crossings behind
them — which read is the chip start and which is the finish — with the entries each came from.

Why both starts are shown: the gun start is the wave's gun; the chip start is the **last read** of the
runner's start crossing (DESIGN rule 4: a runner waiting on the mat starts when they leave it), so the
start crossing's first read and the chip start differ, and a timer must see which is which. Every
crossing names its entries by an id long enough to tell them apart (the full id in its tooltip), so the
one to ignore is unmistakable.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station.results.timefmt import fmt_duration, pace_ms_per_km
from station.results.timefmt import fmt_pace as pace_text
from ui.context import UiContext
from ui.i18n import tr
from ui.models import CrossingsModel, StringListModel, status_text


def explain(d: Any, reg: str) -> dict[str, Any]:
    """Worker job: the runner's result, ranks and trace as plain data for the detail dialog."""
    # The engine keeps crossings, not reads: the reads behind them come from the store, on demand.
    res, trace = d.engine.explain(reg, reads=(e for _, e in d.store.reads_of_chips(d.engine.chips_of(reg))))
    p = d.engine.participant(reg) or {}
    cfg = d.engine.config
    dist = {r.id: r.distance_m for r in cfg.races.values()} if cfg else {}
    pts = {p_.id: p_.distance_m for p_ in cfg.points.values()} if cfg else {}
    out: dict[str, Any] = {"reg": reg, "bib": p.get("bib", ""), "name": p.get("name", ""),
                           "race": p.get("race", ""), "wave": p.get("wave", ""), "chips": d.engine.chips_of(reg),
                           "notes": list(trace.notes), "crossings": [], "splits": []}
    if res is not None:
        current = d.engine.results().get(reg, res)
        out.update(status=res.status, chip_ms=res.chip_ms, gun_ms=res.gun_ms, start_ms=res.start_ms,
                   finish_ms=res.finish_ms, flags=list(res.flags), category=res.category,
                   gender=res.gender, gun_start_ms=res.gun_start_ms, start_source=res.start_source,
                   ranks=tuple(d.engine.ranks(current)))
        for name, ms in res.splits.items():
            m = pts.get(name.split("_")[0], 0)
            out["splits"].append((name, ms, m))
        if res.chip_ms and dist.get(res.race):
            out["pace_ms_per_km"] = pace_ms_per_km(res.chip_ms, dist[res.race])
    for c in trace.crossings:
        role = ""
        if res is not None and c.point and res.start_source != "gun" and c.last == res.start_ms:
            role = "start"
        if res is not None and res.finish_ms is not None and c.time == res.finish_ms:
            role = "finish"
        out["crossings"].append({"point": c.point, "time": c.time, "first": c.first, "last": c.last,
                                 "source": c.source, "reads": c.reads, "uuids": list(c.uuids), "role": role})
    out["crossings"].sort(key=lambda c: c["time"])
    return out


def fmt_pace(ms_per_km: int | None) -> str:
    """The pace as the results pages show it (station.results.timefmt: rounded up, rule 10), per km."""
    return f"{pace_text(ms_per_km)} /km" if ms_per_km else ""


def short_ids(uuids: list[str], least: int = 8) -> dict[str, str]:
    """Each id cut to its shortest tail (at least `least` characters) that still tells every one apart:
    ids made in one run share their head, so the tail is what differs."""
    n = least
    while n < max((len(u) for u in uuids), default=0) and len({u[-n:] for u in uuids}) < len(set(uuids)):
        n += 2
    return {u: ("…" + u[-n:] if n < len(u) else u) for u in uuids}


#: the results engine's trace notes (station.results.rules) → words with the time of day, translated
NOTES = (
    (re.compile(r"^(?P<point>\S+) crossing at (?P<t>\d+) ignored: within the minimum time of the previous pass$"),
     "{point}: crossing at {time} not counted: too soon after the previous pass (minimum time)"),
    (re.compile(r"^manual (?P<point>\S+) (?P<t>\d+): ignored by a correction$"),
     "{point}: manual time {time} ignored by a correction"),
    (re.compile(r"^(?P<point>\S+) main crossing at (?P<t>\d+) replaced by a forced manual time$"),
     "{point}: main crossing at {time} replaced by a forced manual time"),
    (re.compile(r"^(?P<point>\S+) (?P<source>\S+) crossing at (?P<t>\d+) not used: a main crossing is within "
                r"(?P<ms>\d+) ms$"),
     "{point}: {source} crossing at {time} not used: a main reader has a crossing within {s} s"),
    (re.compile(r"^(?P<point>\S+) (?P<source>\S+) crossing at (?P<t>\d+) ignored by a correction$"),
     "{point}: {source} crossing at {time} ignored by a correction"),
)


def note_text(note: str, clock: Any) -> str:
    """One trace note in the station's language, its instants as times of day."""
    for pattern, template in NOTES:
        m = pattern.match(note)
        if m:
            g = m.groupdict()
            return tr(template).format(point=g["point"], time=clock.hms(int(g["t"])),
                                       source=tr(g.get("source") or ""), s=int(g.get("ms") or 0) / 1000)
    return note


def ranks_text(data: dict[str, Any]) -> str:
    overall, gender, category = data.get("ranks") or (None, None, None)
    if overall is None:
        return tr("not ranked ({status})").format(status=status_text(data.get("status", "")))
    return tr("{overall} overall · {gender} in gender · {category} in {cat}").format(
        overall=overall, gender=gender, category=category, cat=data.get("category", ""))


class RunnerDetail(QDialog):
    def __init__(self, ctx: UiContext, data: dict[str, Any], on_ignore: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.data = data
        self.setWindowTitle(tr("Runner {bib}").format(bib=data["bib"]))
        self.resize(940, 620)
        lay = QVBoxLayout(self)
        head = QLabel(f"<b style='font-size:22px'>{data['name']}</b> — {tr('Bib')} {data['bib']} · "
                      f"{data['race']} {data['wave']} · {status_text(data.get('status', ''))}")
        lay.addWidget(head)
        lay.addLayout(self._build_times(data))
        self._build_crossings(lay, data)
        self._build_notes(lay, data)
        row = QHBoxLayout()
        ign = QPushButton(tr("Ignore selected crossing…"))
        ign.setObjectName("danger")
        ign.setToolTip(tr("Records a correction that ignores the selected crossing (every read of it)"))
        ign.clicked.connect(lambda: self._ignore(on_ignore))
        row.addWidget(ign)
        row.addStretch(1)
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.accept)
        row.addWidget(close)
        lay.addLayout(row)

    def _build_times(self, data: dict[str, Any]) -> QFormLayout:
        """Times, ranks and splits; the gun start and the chip start, each with what it is."""
        clock = self.ctx.clock
        form = QFormLayout()
        form.addRow(tr("Rank"), QLabel(ranks_text(data)))
        form.addRow(tr("Chip time"), QLabel(fmt_duration(data.get("chip_ms")) if data.get("chip_ms") else "—"))
        form.addRow(tr("Gun time"), QLabel(fmt_duration(data.get("gun_ms")) if data.get("gun_ms") else "—"))
        form.addRow(tr("Pace"), QLabel(fmt_pace(data.get("pace_ms_per_km")) or "—"))
        form.addRow(tr("Gun start"), QLabel(
            (clock.hms(data.get("gun_start_ms")) or "—") + "  " + tr("(the wave's gun)")))
        if data.get("start_source", "gun") == "gun":
            chip_note = tr("(no start crossing: the gun counts)")
        else:
            chip_note = tr("(last read of the start crossing: the runner left the mat)")
        form.addRow(tr("Chip start"), QLabel((clock.hms(data.get("start_ms")) or "—") + "  " + chip_note))
        form.addRow(tr("Finish"), QLabel(clock.hms(data.get("finish_ms")) or "—"))
        form.addRow(tr("Chips"), QLabel(" ".join(data.get("chips") or []) or "—"))
        for name, ms, metres in data.get("splits", []):
            pace = fmt_pace(pace_ms_per_km(ms, metres))
            form.addRow(tr("Split {name}").format(name=name), QLabel(f"{fmt_duration(ms)}  {pace}"))
        if data.get("flags"):
            form.addRow(tr("Flags"), QLabel(" ".join(data["flags"])))
        return form

    def _build_crossings(self, lay: QVBoxLayout, data: dict[str, Any]) -> None:
        lay.addWidget(QLabel(tr("Crossings (the reads that made each one)")))
        rows = data.get("crossings", [])
        ids = short_ids([u for c in rows for u in c["uuids"]])
        self.crossings = CrossingsModel(self.ctx.clock, self, ids)
        self.crossings.set_rows(rows)
        self.view = QTableView()
        self.view.setModel(self.crossings)
        self.view.setAccessibleName(tr("Crossings"))
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.resizeColumnsToContents()
        lay.addWidget(self.view, 2)

    def _build_notes(self, lay: QVBoxLayout, data: dict[str, Any]) -> None:
        lay.addWidget(QLabel(tr("Why other reads were ignored")))
        self.notes = StringListModel("Note", self)
        self.notes.set_rows([note_text(n, self.ctx.clock) for n in data.get("notes", [])]
                            or [tr("Nothing was ignored.")])
        nv = QTableView()
        nv.setModel(self.notes)
        nv.setAccessibleName(tr("Notes"))
        nv.verticalHeader().hide()
        nv.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(nv, 1)

    def _ignore(self, on_ignore: Any) -> None:
        ix = self.view.selectionModel().selectedRows()
        if ix:
            c = self.crossings.rows[ix[0].row()]
            on_ignore(c["uuids"][0], self)


