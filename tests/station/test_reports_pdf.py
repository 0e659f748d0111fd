"""Reports as a reader sees them: real PDFs checked with pdftotext, rendered with pdftoppm, QR codes
and barcodes decoded back from the rendered pages with zxing-cpp."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from station.reports import Cancelled, sample
from station.reports.bibs import render_bibs
from station.reports.certificates import page_url, points_for, render_certificates, verify_url
from station.reports.checkin_pdf import render_checkin, summarize
from station.reports.layout import fmt_ms
from station.reports.progress import NullProgress
from station.reports.results_pdf import paginate, render_results, sections_for
from station.reports.tickets_pdf import render_tickets

# In CI (CI=true) a missing pdftotext must fail, not skip: scripts/test.sh installs poppler-utils.
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None and os.environ.get("CI") != "true",
                                reason="poppler-utils not installed")

NOW = 1_796_000_000_000  # fixed "generated at"


def pages_text(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\f")[:-1]


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def render_png(pdf: Path, tmp: Path, page: int, dpi: int = 150) -> Path:
    """pdftoppm must render without a single complaint (missing glyphs, broken fonts)."""
    prefix = tmp / f"{pdf.stem}-p{page}"
    res = subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                          str(pdf), str(prefix)], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    return prefix.with_suffix(".png")


def decode_all(png: Path) -> list[Any]:
    import zxingcpp
    from PIL import Image

    return zxingcpp.read_barcodes(Image.open(png))


@pytest.fixture(scope="module")
def event() -> dict[str, Any]:
    return sample.event_config(races=2, splits=2)


@pytest.fixture(scope="module")
def rows(event: dict[str, Any]) -> list[dict[str, Any]]:
    return sample.results_rows(260, event)


@pytest.fixture(scope="module")
def overall_pdf(tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]],
                event: dict[str, Any]) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("res") / "results.pdf"
    info = render_results(out, rows, event, now_ms=NOW)
    return out, info


def test_fmt_ms_rounds_up_to_the_next_second() -> None:
    assert fmt_ms(3_723_001) == "1:02:04"
    assert fmt_ms(3_723_000) == "1:02:03"
    assert fmt_ms(59_000) == "0:00:59"
    assert fmt_ms(None) == "" and fmt_ms("") == ""


def test_results_every_runner_on_the_right_page(overall_pdf: tuple[Path, Any], rows: list[dict[str, Any]],
                                                event: dict[str, Any]) -> None:
    pdf, info = overall_pdf
    texts = pages_text(pdf)
    assert page_count(pdf) == info.pages == len(texts)
    # where each row must be, from the pagination the renderer used
    secs = []
    for race in event["races"]:
        rr = [r for r in rows if r["race"] == race["id"]]
        secs += sections_for(race["id"], race["name"], rr, "overall", 3)
    from station.reports.results_pdf import _columns

    cols = {race["id"]: _columns([r for r in rows if r["race"] == race["id"]], event, "overall")
            for race in event["races"]}
    pages = paginate(secs, cols)
    assert len(pages) == info.pages
    seen = 0
    for i, page in enumerate(pages):
        lines = texts[i].splitlines()
        for kind, payload in page.items:
            if kind != "row":
                continue
            _, r = payload
            line = next((ln for ln in lines if f" {r['bib']} " in ln and r["name"][:6] in ln), None)
            assert line is not None, f"bib {r['bib']} {r['name']} not on page {i + 1}"
            if r["status"] == "finished":
                assert line.split()[0] == str(r["overall_rank"]), line
                assert r["chip_time"] in line and r["gun_time"] in line, line
            else:
                assert line.split()[0] == r["status"], line
            seen += 1
    assert seen == len(rows) == info.rows
    # furniture: title, marking, page numbers, generated-at in the event zone
    assert "UNOFFICIAL" in texts[0] and "非正式成绩" in texts[0]
    assert f"Page {info.pages} of {info.pages}" in texts[-1]
    assert "Generated 2026-11-30" in texts[0] and "Asia/Shanghai" in texts[0]
    # split columns carry formatted split times
    first = next(r for r in rows if r["status"] == "finished")
    assert fmt_ms(first["split_k5_ms"]) in texts[0]


def test_results_pdf_renders_and_embeds_only_our_font(overall_pdf: tuple[Path, Any], tmp_path: Path) -> None:
    pdf, _ = overall_pdf
    png = render_png(pdf, tmp_path, 1, dpi=60)
    assert png.stat().st_size > 10_000
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    body = fonts.splitlines()[2:]
    assert body and all(" yes " in ln for ln in body), fonts  # every font embedded (subset)
    assert all("WenQuanYi" in ln for ln in body), fonts


def test_mixed_script_names_and_every_glyph_available(tmp_path: Path, event: dict[str, Any]) -> None:
    from station.reports.fonts import has_glyph

    rows = sample.results_rows(40, event)
    names = ["欧阳娜娜 Nana", "José García", "Müller 李", "王小明", "Олег 张"]
    for r, n in zip(rows, names, strict=False):
        r["name"] = n
    for n in names:
        assert all(has_glyph(ch) for ch in n), n
    out = tmp_path / "mixed.pdf"
    render_results(out, rows, event, now_ms=NOW)
    text = "\n".join(pages_text(out))
    for n in names:
        assert n in text
    render_png(out, tmp_path, 1, dpi=50)


@pytest.mark.parametrize("mode", ["gender", "category", "awards"])
def test_results_modes(tmp_path: Path, rows: list[dict[str, Any]], event: dict[str, Any], mode: str) -> None:
    out = tmp_path / f"{mode}.pdf"
    info = render_results(out, rows, event, mode=mode, top=3, race="full", now_ms=NOW, official=True)
    text = "\n".join(pages_text(out))
    assert "OFFICIAL" in text and "UNOFFICIAL" not in text
    full = [r for r in rows if r["race"] == "full"]
    if mode == "category":
        for cat in {r["category"] for r in full}:
            assert f"Category {cat}" in text
        assert info.rows == len(full)
    if mode == "gender":
        assert "Men" in text and "Women" in text
        assert info.rows == len(full)
    if mode == "awards":
        winners = {r["bib"] for r in full if r["status"] == "finished"
                   and (r["category_rank"] <= 3 or r["gender_rank"] <= 3)}
        for bib in winners:
            assert f" {bib} " in text
        losers = [r for r in full if r["status"] != "finished" or (r["category_rank"] > 3 and r["gender_rank"] > 3)]
        for r in losers:
            assert f" {r['bib']} " not in text
        assert "half" not in text  # --race filter


def test_results_privacy_no_private_fields(tmp_path: Path, event: dict[str, Any]) -> None:
    rows = sample.results_rows(30, event)
    for r in rows:
        r.update(birth_date="1980-02-29", phone="13812345678", email="secret@example.com")
    out = tmp_path / "p.pdf"
    render_results(out, rows, event, now_ms=NOW)
    text = "\n".join(pages_text(out))
    assert "1980-02-29" not in text and "13812345678" not in text and "secret@" not in text


def test_cancel_leaves_no_file(tmp_path: Path, rows: list[dict[str, Any]], event: dict[str, Any]) -> None:
    class CancelAfter(NullProgress):
        def __init__(self) -> None:
            self.calls: list[tuple[int, int]] = []

        def report(self, done: int, total: int) -> None:
            self.calls.append((done, total))
            if done >= 2:
                self.cancelled = True

    out = tmp_path / "c.pdf"
    out.write_bytes(b"previous good report")
    prog = CancelAfter()
    with pytest.raises(Cancelled):
        render_results(out, rows, event, progress=prog, now_ms=NOW)
    assert out.read_bytes() == b"previous good report"
    assert not list(tmp_path.glob("*.part"))
    assert prog.calls[0][0] == 0 and prog.calls[0][1] > 3


def test_empty_results_list(tmp_path: Path, event: dict[str, Any]) -> None:
    out = tmp_path / "e.pdf"
    info = render_results(out, [], event, now_ms=NOW)
    assert info.pages == 1 and "No results yet" in pages_text(out)[0]


def test_certificates(tmp_path: Path, rows: list[dict[str, Any]], event: dict[str, Any]) -> None:
    chosen = rows[:6]
    fin = [r for r in chosen if r["status"] == "finished"]
    synced = {fin[0]["registration_id"]}
    out = tmp_path / "cert.pdf"
    info = render_certificates(out, chosen, event, all_rows=rows, ledger_url="https://ledger.example.cn/",
                               synced=synced, now_ms=NOW)
    texts = pages_text(out)
    assert info.pages == len(fin) == len(texts) == page_count(out)
    race = event["races"][0]
    pts = points_for(event, race)
    assert pts == 421  # floor(10 × 42195 / 1000)
    for r, t in zip(fin, texts, strict=True):
        flat = " ".join(t.split())
        assert r["name"] in t and r["chip_time"] in t and r["gun_time"] in t
        assert f"Points {pts}" in flat
        assert str(r["overall_rank"]) in t and str(r["category"]) in t
        assert ("credited" in t) == (r["registration_id"] in synced)
        assert ("pending" in t) == (r["registration_id"] not in synced)
    # the QR code on page 2 points at the ledger's public page of that finish (the balance needs a token)
    png = render_png(out, tmp_path, 2)
    codes = [b.text for b in decode_all(png)]
    reg = fin[1]["registration_id"]
    assert codes == [page_url("https://ledger.example.cn/", event["event"]["id"], reg)]
    assert codes[0] == f"https://ledger.example.cn/events/{event['event']['id']}/runners/{reg}"
    # the points account: a runner id, or a registration of one event
    assert verify_url("https://ledger.example.cn/", "U42") == "https://ledger.example.cn/v1/runners/U42/points"
    assert (verify_url("https://ledger.example.cn/", "R 1", "wo-run-sh") ==
            "https://ledger.example.cn/v1/runners/R%201/points?event=wo-run-sh")


def test_tickets_sheet_qr_codes_decode_to_tokens(tmp_path: Path, event: dict[str, Any]) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    people = sample.participants(11, event)
    pairs = [(p, jwt.encode({"evt": "wo-run-shanghai-2026", "sub": p["registration_id"], "bib": p["bib"],
                             "race": p["race"], "iat": 1, "exp": 2, "jti": f"j{i:06d}"}, key, algorithm="EdDSA",
                            headers={"kid": "k1"}))
             for i, p in enumerate(people)]
    out = tmp_path / "t.pdf"
    info = render_tickets(out, pairs, event, now_ms=NOW)
    assert info.pages == 2 == page_count(out)
    texts = pages_text(out)
    for i, (p, _) in enumerate(pairs):
        t = texts[i // 8]
        assert p["bib"] in t and p["name"] in t and f"Wave {p['wave']}" in t
    got = {b.text for b in decode_all(render_png(out, tmp_path, 1, dpi=200))}
    assert got == {tok for _, tok in pairs[:8]}
    anon = tmp_path / "anon.pdf"
    render_tickets(anon, pairs[:2], event, show_names=False, now_ms=NOW)
    assert pairs[0][0]["name"] not in pages_text(anon)[0]


def test_both_qr_encoders_agree() -> None:
    import zxingcpp
    from PIL import Image

    from station.reports.qr import QUIET, matrix

    data = "https://ledger.example.cn/v1/runners/R000001/points"
    for enc in ("qrcode", "zxing"):
        m = matrix(data, encoder=enc)
        n = len(m) + 2 * QUIET
        img = Image.new("L", (n, n), 255)
        for y, row in enumerate(m):
            for x, dark in enumerate(row):
                if dark:
                    img.putpixel((x + QUIET, y + QUIET), 0)
        img = img.resize((n * 6, n * 6), Image.NEAREST)
        assert zxingcpp.read_barcode(img).text == data, enc


def test_bib_labels(tmp_path: Path, event: dict[str, Any]) -> None:
    people = sample.participants(30, event)
    out = tmp_path / "b.pdf"
    info = render_bibs(out, people, event)
    assert info.pages == 2 == page_count(out)
    texts = pages_text(out)
    for i, p in enumerate(people):
        assert p["bib"] in texts[i // 24] and p["name"] in texts[i // 24]
    codes = {b.text for b in decode_all(render_png(out, tmp_path, 2, dpi=200))}
    assert codes == {p["bib"] for p in people[24:]}


def test_checkin_report(tmp_path: Path, event: dict[str, Any]) -> None:
    people = sample.participants(150, event)
    for i, p in enumerate(people):
        p["checked_in"] = i % 4 != 0
    summ = summarize(people, event)
    assert summ[-1]["registered"] == 150 and summ[-1]["checked_in"] == 112 and summ[-1]["missing"] == 38
    out = tmp_path / "ck.pdf"
    info = render_checkin(out, people, event, now_ms=NOW)
    text = "\n".join(pages_text(out))
    assert info.rows == 38
    for p in people:
        if not p["checked_in"]:
            assert p["name"] in text and p["bib"] in text
        assert p["phone"] not in text and p["birth_date"] not in text
    assert "Total" in text and "75 %" in text
    render_png(out, tmp_path, 1, dpi=40)


def test_exclusive_awards_give_one_prize_per_runner(tmp_path: Path, event: dict[str, Any]) -> None:
    """With one prize per runner, the overall winners leave the category lists and the next runners move
    up (equal times share an award place); without it, a winner appears in both lists."""
    def row(bib: str, g: str, cat: str, grank: int | None, crank: int | None) -> dict[str, Any]:
        return {"bib": bib, "registration_id": f"R{bib}", "race": "full", "gender": g, "category": cat,
                "gender_rank": grank, "category_rank": crank, "status": "finished" if grank else "dnf",
                "name": f"N{bib}", "overall_rank": grank}
    rows = [row("1", "M", "M30", 1, 1), row("2", "M", "M40", 2, 1), row("3", "M", "M30", 3, 2),
            row("4", "M", "M30", 4, 3), row("5", "M", "M30", 5, 4), row("6", "M", "M30", 6, 4),
            row("7", "M", "M30", 7, 6), row("8", "M", "M40", 8, 2), row("9", "M", "M30", None, None)]
    plain = sections_for("full", "Full", rows, "awards", 3)
    m30 = next(s for s in plain if "M30" in s.title)
    assert [r["bib"] for r in m30.rows] == ["1", "3", "4"] and m30.rank_key == "category_rank"
    excl = sections_for("full", "Full", rows, "awards", 3, exclusive=True)
    assert [r["bib"] for r in excl[0].rows] == ["1", "2", "3"]  # men overall top 3, unchanged
    m30 = next(s for s in excl if "M30" in s.title)
    assert m30.rank_key == "award_place" and "overall winners excluded" in m30.title
    # 1 and 3 won overall; 4 moves up to 1st, 5 and 6 tie for 2nd, 7 is 4th: out
    assert [(r["bib"], r["award_place"]) for r in m30.rows] == [("4", 1), ("5", 2), ("6", 2)]
    m40 = next(s for s in excl if "M40" in s.title)
    assert [(r["bib"], r["award_place"]) for r in m40.rows] == [("8", 1)]
    out = tmp_path / "awards.pdf"
    render_results(out, rows, event, mode="awards", top=3, exclusive=True, race="full", now_ms=NOW)
    text = "\n".join(pages_text(out))
    assert "overall winners excluded" in text and "N4" in text and "N7" not in text and "N9" not in text
