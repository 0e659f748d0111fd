"""Benchmark of the reports (run directly: `.venv/bin/python tests/bench/bench_reports.py`).

Each figure runs in a fresh child process so its peak memory (max RSS) is its own. Targets (issue):
results list for 40,000 runners ≤ 20 s and ≤ 500 MB; one certificate ≤ 200 ms; 2,000 tickets ≤ 30 s.
Baselines measured in the same run: reportlab's plain `drawString` per cell (what `fasttext` replaces)
and the pure-Python `qrcode` encoder (what zxing-cpp's writer replaces on ticket sheets).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _maxrss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _token(i: int) -> str:
    # a realistic ~360-character EdDSA JWT
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    global _KEY
    try:
        key = _KEY
    except NameError:
        key = _KEY = Ed25519PrivateKey.generate()
    return jwt.encode({"evt": "wo-run-shanghai-2026", "sub": f"R{i:06d}", "bib": str(1001 + i), "race": "full",
                       "rid": f"U{i:07d}", "iat": 1796000000, "exp": 1796100000, "jti": f"{i:012x}"},
                      key, algorithm="EdDSA", headers={"kid": "k1"})


def one(kind: str, n: int, out: Path) -> dict[str, float | None]:
    from station.reports import sample

    ev = sample.event_config(races=2, splits=2)
    t0 = time.perf_counter()
    if kind == "results":
        from station.reports.results_pdf import render_results

        rows = sample.results_rows(n, ev)
        t0 = time.perf_counter()
        render_results(out, rows, ev)
    elif kind == "results_drawstring":
        rows = sample.results_rows(n, ev)
        t0 = time.perf_counter()
        _baseline_drawstring(out, rows)
    elif kind == "certificate_cold":
        from station.reports.certificates import render_certificates

        rows = sample.results_rows(50, ev)
        fin = [r for r in rows if r["status"] == "finished"][:1]
        t0 = time.perf_counter()  # includes font loading, the first page and the QR code
        render_certificates(out, fin, ev, all_rows=rows, ledger_url="https://ledger.wo.run")
    elif kind == "certificate_warm":
        from station.reports.certificates import render_certificates

        rows = sample.results_rows(50, ev)
        fin = [r for r in rows if r["status"] == "finished"]
        render_certificates(out, fin[:1], ev, all_rows=rows, ledger_url="https://ledger.wo.run")
        t0 = time.perf_counter()
        for r in fin[:n]:
            render_certificates(out, [r], ev, all_rows=rows, ledger_url="https://ledger.wo.run")
        return {"seconds": (time.perf_counter() - t0) / n, "rss_mb": _maxrss_mb()}
    elif kind in ("tickets", "tickets_qrcode"):
        from station.reports import qr
        from station.reports.tickets_pdf import render_tickets

        people = sample.participants(n, ev)
        pairs = [(p, _token(i)) for i, p in enumerate(people)]
        if kind == "tickets_qrcode":
            qr._zxing_writer.cache_clear()
            qr._zxing_writer.__wrapped__  # noqa: B018
            qr._zxing_writer = lambda: False  # type: ignore[assignment]
        t0 = time.perf_counter()
        render_tickets(out, pairs, ev)
    return {"seconds": time.perf_counter() - t0, "rss_mb": _maxrss_mb(), "bytes": out.stat().st_size}


def _baseline_drawstring(out: Path, rows: list[dict]) -> None:
    """The obvious way: `drawString` for every cell, same layout density."""
    from reportlab.pdfgen.canvas import Canvas

    from station.reports import fonts

    fonts.register()
    c = Canvas(str(out), initialFontName=fonts.FONT)
    keys = ["overall_rank", "bib", "name", "gender", "category", "gender_rank", "category_rank", "gun_time",
            "chip_time", "split_k5_ms", "split_k10_ms"]
    y = 800.0
    c.setFont(fonts.FONT, 8)
    for r in rows:
        if y < 60:
            c.showPage()
            c.setFont(fonts.FONT, 8)
            y = 800.0
        for i, k in enumerate(keys):
            c.drawString(30 + i * 48, y, str(r.get(k) or ""))
        y -= 11.5
    c.save()


def child(kind: str, n: int) -> dict[str, float | None]:
    with tempfile.TemporaryDirectory() as d:
        res = subprocess.run([sys.executable, __file__, "--one", kind, str(n), str(Path(d) / "o.pdf")],
                             capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    def fmt_mb(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.0f} MB"

    print("WO.RUN Station — reports benchmark")
    r = child("results", 40_000)
    print(f"results list, 40,000 runners: {r['seconds']:.1f} s (target ≤ 20 s), peak {fmt_mb(r['rss_mb'])} "
          f"(target ≤ 500 MB; includes generating the rows), {r['bytes'] / 1e6:.1f} MB PDF")
    ours = child("results", 4_000)
    base = child("results_drawstring", 4_000)
    print(f"  4,000 rows: ours {ours['seconds']:.2f} s vs plain drawString per cell {base['seconds']:.2f} s "
          f"(×{base['seconds'] / ours['seconds']:.1f} faster)")
    cold = child("certificate_cold", 1)
    warm = child("certificate_warm", 20)
    print(f"one certificate: {warm['seconds'] * 1000:.0f} ms warm, {cold['seconds'] * 1000:.0f} ms cold "
          f"(first in a process: font loading included) (target ≤ 200 ms)")
    t = child("tickets", 2_000)
    print(f"2,000 tickets: {t['seconds']:.1f} s (target ≤ 30 s), peak {fmt_mb(t['rss_mb'])}, "
          f"{t['bytes'] / 1e6:.1f} MB PDF")
    tq = child("tickets_qrcode", 200)
    tz = child("tickets", 200)
    print(f"  200 tickets: zxing-cpp writer {tz['seconds']:.2f} s vs qrcode (pure Python) {tq['seconds']:.2f} s "
          f"(×{tq['seconds'] / tz['seconds']:.1f})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
    else:
        main()
