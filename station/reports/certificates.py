"""Finisher certificates: one A4 landscape page per finisher.

Why each certificate carries its points and a QR code: WO.RUN turns finished runs into points on the
online ledger. The page shows the points this finish earns under the event's rule (floor(points_per_km ×
distance_m / 1000)), marked *pending* until the station has synced the result, and a QR code for the
runner's public results page (`{web or ledger}/events/{event}/runners/{registration_id}`), which shows the
finish and the points it earns, credited or not, so anyone can check a certificate against the ledger. The
balance itself (`verify_url`) is not public: the ledger shows it to tokens of the runner's events only.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from station.event.points import points_for as points_rule
from station.reports import fonts
from station.reports.layout import (
    A4_LANDSCAPE,
    ACCENT,
    GREEN,
    GREY,
    INK,
    MM,
    Furniture,
    draw_bold,
    fit,
    fit_size,
    fmt_distance,
    pdf_canvas,
    race_map,
)
from station.reports.progress import Progress, step
from station.reports.qr import draw_qr
from station.reports.results_pdf import GENDER_EN, GENDER_ZH, ReportInfo

GOLD = HexColor("#B8860B")


def points_for(event: Mapping[str, Any], race: Mapping[str, Any]) -> int:
    """The ledger's rule, as the event file states it: floor(points_per_km × distance_m / 1000)."""
    return points_rule((event.get("event") or {}).get("points_per_km"), race.get("distance_m"))


def verify_url(ledger_url: str, runner: str, event_id: str | None = None) -> str:
    """The ledger's points account: a runner id, or (`event_id` given) the registration `runner` of that
    event — a runner without a runner id has one account per event. Read with a token of that event."""
    url = f"{ledger_url.rstrip('/')}/v1/runners/{quote(runner, safe='')}/points"
    return f"{url}?event={quote(event_id, safe='')}" if event_id else url


def page_url(web_url: str, event_id: str, registration_id: str) -> str:
    """The runner's public results page (`worun-station web` at the venue, or the ledger's pages)."""
    return f"{web_url.rstrip('/')}/events/{quote(event_id, safe='')}/runners/{quote(registration_id, safe='')}"


def render_certificates(
    out: Path | str,
    rows: Sequence[Mapping[str, Any]],
    event: Mapping[str, Any],
    *,
    all_rows: Sequence[Mapping[str, Any]] | None = None,
    synced: Collection[str] = (),
    ledger_url: str | None = None,
    web_url: str | None = None,
    logo: Path | None = None,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> ReportInfo:
    """One page per *finished* row of `rows` (others are skipped).

    `all_rows` (default `rows`) gives the field sizes ("12th of 480"); `synced` holds registration ids whose result the ledger has acknowledged (their
    points show as credited, the others as pending).

    The QR code: with `web_url`, the runner's public results page there (works offline at the venue);
    else with `ledger_url`, the ledger's public page of this finish and its points; with neither, no QR code and a short note
    saying so (a certificate printed with no address known is still a certificate).
    """
    event_id = str((event.get("event") or {}).get("id") or "")
    finishers = [r for r in rows if r.get("status") == "finished"]
    field_rows = all_rows if all_rows is not None else rows
    sizes: dict[tuple[str, str, str], int] = {}
    for r in field_rows:
        if r.get("status") == "finished":
            for key in (("race", str(r.get("race")), ""), ("gender", str(r.get("race")), str(r.get("gender"))),
                        ("category", str(r.get("race")), str(r.get("category")))):
                sizes[key] = sizes.get(key, 0) + 1
    races = race_map(event)
    furn = Furniture.for_event(event, now_ms=now_ms if now_ms is not None else time.time_ns() // 1_000_000,
                               logo=logo, marking=False)
    total = len(finishers)
    with pdf_canvas(out, A4_LANDSCAPE, title=f"{furn.event_name} 完赛证书 Finisher certificates") as c:
        for i, r in enumerate(finishers):
            step(progress, i, total)
            race = races.get(str(r.get("race"))) or {"id": r.get("race"), "name": r.get("race")}
            reg = str(r.get("registration_id") or "")
            if web_url and reg:
                qr: tuple[str, str] | None = (page_url(web_url, event_id, reg), "扫码查看成绩 Scan for this result")
            elif ledger_url and reg:  # the ledger's public page of this finish (the balance needs a token)
                qr = (page_url(ledger_url, event_id, reg), "扫码验证积分 Scan to verify points")
            else:
                qr = None
            _draw(c, r, race, event, furn, sizes, points_for(event, race), reg in synced, qr)
            c.showPage()
        step(progress, total, total)
    return ReportInfo(pages=total, rows=total)


def _draw(c: Canvas, r: Mapping[str, Any], race: Mapping[str, Any], event: Mapping[str, Any],
          furn: Furniture, sizes: Mapping[tuple[str, str, str], int], points: int, credited: bool,
          qr: tuple[str, str] | None) -> None:
    w, h = A4_LANDSCAPE
    _draw_heading(c, r, race, furn, w, h)
    _draw_times(c, r, w, h)
    _draw_ranks(c, r, sizes, w, h)
    _draw_footer(c, r, furn, points, credited, qr, w)


def _draw_heading(c: Canvas, r: Mapping[str, Any], race: Mapping[str, Any], furn: Furniture,
                  w: float, h: float) -> None:
    """Frame, logo, event, title and the runner's name and race."""
    cx = w / 2
    # frame
    c.setStrokeColor(ACCENT)
    c.setLineWidth(3)
    c.rect(12 * MM, 12 * MM, w - 24 * MM, h - 24 * MM)
    c.setStrokeColor(GOLD)
    c.setLineWidth(0.8)
    c.rect(15 * MM, 15 * MM, w - 30 * MM, h - 30 * MM)
    if furn.logo is not None:
        try:
            c.drawImage(str(furn.logo), 22 * MM, h - 40 * MM, width=20 * MM, height=20 * MM,
                        preserveAspectRatio=True, mask="auto")
        except OSError:
            pass
    c.setFillColor(INK)
    draw_bold(c, cx, h - 30 * MM, fit(furn.event_name, fonts.FONT, 18, w - 100 * MM), 18, align="center")
    c.setFont(fonts.FONT, 10)
    c.setFillColor(GREY)
    c.drawCentredString(cx, h - 36 * MM, furn.event_date)
    draw_bold(c, cx, h - 54 * MM, "完 赛 证 书", 34, align="center", color=ACCENT)
    c.setFillColor(ACCENT)
    c.setFont(fonts.FONT, 12)
    c.drawCentredString(cx, h - 62 * MM, "F I N I S H E R   C E R T I F I C A T E")
    c.setFillColor(INK)
    c.setFont(fonts.FONT, 11)
    c.drawCentredString(cx, h - 74 * MM, "兹证明  This is to certify that")
    name = str(r.get("name") or "")
    size = fit_size(name, fonts.FONT, 36, w - 90 * MM, 16)
    draw_bold(c, cx, h - 89 * MM, name, size, align="center")
    label = f"{race.get('name') or race.get('id')}  {fmt_distance(race.get('distance_m'))}".strip()
    c.setFont(fonts.FONT, 13)
    c.drawCentredString(cx, h - 99 * MM, f"完成了 {label}")
    c.setFont(fonts.FONT, 9)
    c.setFillColor(GREY)
    c.drawCentredString(cx, h - 104 * MM, f"has completed the {fmt_distance(race.get('distance_m')) or race.get('id')} race")
    c.setFillColor(INK)


def _draw_times(c: Canvas, r: Mapping[str, Any], w: float, h: float) -> None:
    """Chip time (large) and gun time."""
    cx = w / 2
    c.setFont(fonts.FONT, 10)
    c.setFillColor(GREY)
    c.drawCentredString(cx - 50 * MM, h - 112 * MM, "净成绩 Chip time")
    c.drawCentredString(cx + 50 * MM, h - 112 * MM, "枪声成绩 Gun time")
    c.setFillColor(INK)
    draw_bold(c, cx - 50 * MM, h - 123 * MM, str(r.get("chip_time") or ""), 28, align="center")
    draw_bold(c, cx + 50 * MM, h - 123 * MM, str(r.get("gun_time") or ""), 20, align="center")


def _draw_ranks(c: Canvas, r: Mapping[str, Any], sizes: Mapping[tuple[str, str, str], int],
                w: float, h: float) -> None:
    """Overall, gender and category rank boxes, each "rank / of"."""
    cx = w / 2
    rid = str(r.get("race"))
    g = str(r.get("gender") or "")
    cat = str(r.get("category") or "")
    boxes = [
        ("总名次 Overall", r.get("overall_rank"), sizes.get(("race", rid, ""), 0)),
        (f"{GENDER_ZH.get(g, g)}名次 {GENDER_EN.get(g, g)}", r.get("gender_rank"), sizes.get(("gender", rid, g), 0)),
        (f"组别 {cat} Category", r.get("category_rank"), sizes.get(("category", rid, cat), 0)),
    ]
    bw = 62 * MM
    x0 = cx - 1.5 * bw
    for i, (title, rank, of) in enumerate(boxes):
        bx = x0 + i * bw
        c.setFillColor(GREY)
        c.setFont(fonts.FONT, 9)
        c.drawCentredString(bx + bw / 2, h - 136 * MM, fit(title, fonts.FONT, 9, bw - 4))
        c.setFillColor(INK)
        draw_bold(c, bx + bw / 2, h - 146 * MM, f"{rank}" if rank not in (None, "") else "—", 18, align="center")
        c.setFont(fonts.FONT, 8.5)
        c.setFillColor(GREY)
        c.drawCentredString(bx + bw / 2, h - 151 * MM, f"/ {of}" if of else "")
    c.setFillColor(INK)


def _draw_footer(c: Canvas, r: Mapping[str, Any], furn: Furniture, points: int, credited: bool,
                 qr: tuple[str, str] | None, w: float) -> None:
    """Bib, points, ledger state and the verification QR code (or why there is none)."""
    left = 24 * MM
    c.setFont(fonts.FONT, 10)
    c.drawString(left, 40 * MM, f"号码 Bib  {r.get('bib') or ''}")
    pts = f"积分 Points  {points}"
    draw_bold(c, left, 32 * MM, pts, 12)
    c.setFont(fonts.FONT, 9)
    if credited:
        c.setFillColor(GREEN)
        state = "已入账 credited on the WO.RUN ledger"
    else:
        c.setFillColor(ACCENT)
        state = "待同步 pending until this station syncs with the ledger"
    c.drawString(left, 26 * MM, state)
    c.setFillColor(GREY)
    c.setFont(fonts.FONT, 7)
    c.drawString(left, 20 * MM, f"生成时间 Generated {furn.generated_at} · WO.RUN Station")
    if qr is None:
        c.setFont(fonts.FONT, 7.5)
        c.setFillColor(GREY)
        c.drawRightString(w - 24 * MM, 24 * MM, "离线打印，无验证二维码 Printed offline: no verification QR code")
    else:
        url, caption = qr
        q = 30 * MM
        qx = w - 24 * MM - q
        draw_qr(c, url, qx, 24 * MM, q, encoder="qrcode")
        c.setFont(fonts.FONT, 7.5)
        c.setFillColor(INK)
        c.drawCentredString(qx + q / 2, 21 * MM, caption)
        c.setFont(fonts.FONT, 6)
        c.setFillColor(GREY)
        c.drawRightString(w - 24 * MM, 18 * MM, fit(url, fonts.FONT, 6, 110 * MM))
    c.setFillColor(INK)
