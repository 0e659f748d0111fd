"""`worun-station report …` (PDF) and `worun-station export …` (CSV/JSON/XLSX).

Why a thin layer: every renderer in `station.reports` takes plain data, so this module only reads the
store once (`station.reports.sources`), checks the user's choices (unknown race or bib → a message
naming it), and shows progress on stderr. Ctrl-C cancels a long report cleanly: nothing is written
under the requested name.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from station.cli.core import add_as_of
from station.errors import UserError

REPORTS = ("results", "certificates", "tickets", "bibs", "checkin")


def register(sub: Any) -> None:
    rp = sub.add_parser("report", help="PDF reports: results lists, certificates, tickets, bib labels, check-in")
    rp.add_argument("kind", choices=REPORTS, help="which report")
    rp.add_argument("--out", type=Path, required=True, help="PDF file to write")
    rp.add_argument("--race", help="only this race (id)")
    rp.add_argument("--bib", action="append", help="only this bib (repeatable)")
    rp.add_argument("--by", choices=["overall", "gender", "category", "awards"], default="overall",
                    help="results: overall list, per gender, per category, or award lists")
    rp.add_argument("--top", type=int, default=3, help="results --by awards: how many per list (default 3)")
    rp.add_argument("--exclusive", action="store_true",
                    help="results --by awards: one prize per runner — category lists leave out the overall "
                         "(gender) winners and the next runners move up")
    rp.add_argument("--official", action="store_true", help="results: mark the list official (default: unofficial)")
    rp.add_argument("--logo", type=Path, help="results/certificates: a PNG or JPEG logo for the header")
    rp.add_argument("--ledger", help="certificates: ledger URL for the verification QR code "
                                     "(default: the URL this station syncs with)")
    rp.add_argument("--web-url", help="certificates: the address of this station's results pages "
                                      "(`worun-station web`, e.g. http://192.168.1.20:8081): the QR code "
                                      "opens the runner's page there, no internet needed")
    rp.add_argument("--tokens", type=Path, default=Path("tickets") / "tickets.csv",
                    help="tickets: the tickets.csv written by `tickets issue` (default tickets/tickets.csv)")
    rp.add_argument("--no-names", action="store_true", help="tickets: leave runners' names off the sheet")
    add_as_of(rp)
    rp.set_defaults(func=run_report)

    ex = sub.add_parser("export", help="export results (CSV/JSON/XLSX) or participants (CSV/XLSX)")
    ex.add_argument("what", choices=["results", "participants"])
    ex.add_argument("--out", type=Path, required=True, help="file to write")
    ex.add_argument("--format", choices=["csv", "json", "xlsx"],
                    help="default: from the file's extension")
    ex.add_argument("--race", help="only this race (id)")
    ex.add_argument("--personal", action="store_true",
                    help="participants: include birth date, phone and email (organizer's use only, never publish)")
    add_as_of(ex)
    ex.set_defaults(func=run_export)


def _progress(label: str) -> Any:
    from station.reports.progress import StreamProgress

    return StreamProgress(label)


def _pick_bibs(items: list[dict[str, Any]], bibs: list[str] | None) -> list[dict[str, Any]]:
    if not bibs:
        return items
    wanted = [str(b) for b in bibs]
    have = {str(p.get("bib")) for p in items}
    missing = [b for b in wanted if b not in have]
    if missing:
        raise UserError(f"--bib: no runner with bib {', '.join(missing)}")
    return [p for p in items if str(p.get("bib")) in set(wanted)]


def run_report(args: argparse.Namespace, ctx: Any) -> int:
    from station.reports import Cancelled, sources

    if args.out.suffix.lower() != ".pdf":
        raise UserError(f"--out {args.out}: reports are PDF files (name it something.pdf)")
    if args.logo is not None and not args.logo.is_file():
        raise UserError(f"--logo {args.logo}: no such file")
    if args.top < 1:
        raise UserError("--top: expected a number of at least 1")
    with ctx.open_store() as store:
        snap = sources.snapshot(store)
        sources.check_race(snap.event, args.race)
        people = sources.people_with_checkins(store, snap) if args.kind in ("tickets", "bibs", "checkin") else []
    progress = _progress(f"{args.kind} {args.out.name}")
    try:
        info = _render(args, snap, people, progress)
    except Cancelled:
        print("cancelled; nothing written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cancelled; nothing written", file=sys.stderr)
        return 1
    except OSError as e:
        raise UserError(f"--out {args.out}: cannot write: {e.strerror or e}") from None
    print(f"{args.out}: {info.pages} page(s), {info.rows} item(s)")
    return 0


def _as_of(args: argparse.Namespace, snap: Any) -> int | None:
    from station.cli.core import as_of_ms
    from station.event.config import EventConfig

    return as_of_ms(EventConfig.from_payload(snap.event), args.as_of) if args.as_of else None


def _render(args: argparse.Namespace, snap: Any, people: list[dict[str, Any]], progress: Any) -> Any:
    from station.reports import sources

    at = _as_of(args, snap)
    now = at if at is not None else time.time_ns() // 1_000_000
    if args.kind == "results":
        from station.reports.results_pdf import render_results

        rows, _ = snap.results(args.race, at, public=True)
        rows = _pick_bibs(rows, args.bib)
        return render_results(args.out, rows, snap.event, race=args.race, mode=args.by, top=args.top,
                              exclusive=args.exclusive,
                              official=args.official, logo=args.logo, now_ms=now, progress=progress)
    if args.kind == "certificates":
        from station.reports.certificates import render_certificates

        # The QR code: the runner's page on the station's web server (--web-url) works at the venue
        # with no internet; else the ledger's points page; with no address known, no QR and a note.
        ledger = args.ledger or (None if args.web_url else snap.ledger_url)
        for opt, url in (("--web-url", args.web_url), ("--ledger", ledger)):
            if url and not url.startswith(("http://", "https://")):
                raise UserError(f"{opt} {url!r}: give an http:// or https:// address")
        if not args.web_url and not ledger:
            print("note: no --web-url or ledger address known: certificates are printed without a QR code",
                  file=sys.stderr)
        all_rows, _ = snap.results(None, at)
        rows = [r for r in all_rows if args.race is None or r.get("race") == args.race]
        rows = _pick_bibs(rows, args.bib)
        not_fin = [r for r in rows if r.get("status") != "finished"]
        if args.bib and not_fin:
            r = not_fin[0]
            raise UserError(f"bib {r.get('bib')} has no finish (status {r.get('status')}): no certificate")
        if not any(r.get("status") == "finished" for r in rows):
            raise UserError("no finisher yet: certificates are for finished runners")
        return render_certificates(args.out, rows, snap.event, all_rows=all_rows,
                                   synced=sources.synced_registrations(snap, rows), ledger_url=ledger,
                                   web_url=args.web_url,
                                   logo=args.logo, now_ms=now, progress=progress)
    chosen = [p for p in people if args.race is None or p.get("race") == args.race]
    chosen = _pick_bibs(chosen, args.bib)
    if args.kind == "tickets":
        from station.reports.tickets_pdf import render_tickets

        tokens = sources.read_ticket_manifest(args.tokens)
        pairs = [(p, tokens[str(p["registration_id"])]) for p in chosen if str(p["registration_id"]) in tokens]
        unsigned = [p for p in chosen if str(p["registration_id"]) not in tokens]
        if not pairs:
            raise UserError(f"{args.tokens}: no ticket for the chosen runners; sign them first with "
                            "`worun-station tickets issue`")
        if unsigned:
            print(f"warning: {len(unsigned)} runner(s) have no ticket in {args.tokens} "
                  f"(e.g. bib {unsigned[0].get('bib')}); left out", file=sys.stderr)
        return render_tickets(args.out, pairs, snap.event, show_names=not args.no_names, now_ms=now,
                              progress=progress)
    if args.kind == "bibs":
        from station.reports.bibs import render_bibs

        if not chosen:
            raise UserError("no participants (import them with `worun-station participants import`)")
        return render_bibs(args.out, chosen, snap.event, progress=progress)
    from station.reports.checkin_pdf import render_checkin

    return render_checkin(args.out, chosen, snap.event, race=args.race, now_ms=now, progress=progress)


def run_export(args: argparse.Namespace, ctx: Any) -> int:
    from station.reports import exports, sources
    from station.reports.layout import event_zone, local_time

    fmt = args.format or args.out.suffix.lower().lstrip(".")
    allowed = ("csv", "json", "xlsx") if args.what == "results" else ("csv", "xlsx")
    if fmt not in allowed:
        raise UserError(f"--format: {args.what} export as {', '.join(allowed)} "
                        f"(give --format or name --out …{'/…'.join('.' + a for a in allowed)})")
    with ctx.open_store() as store:
        snap = sources.snapshot(store)
        sources.check_race(snap.event, args.race)
        people = sources.people_with_checkins(store, snap) if args.what == "participants" else []
    try:
        if args.what == "results":
            at = _as_of(args, snap)
            rows, split_cols = snap.results(args.race, at, public=True)
            gen = local_time(at if at is not None else time.time_ns() // 1_000_000,
                             event_zone(snap.event)).isoformat(timespec="seconds")
            exports.export_results(rows, args.out, fmt, event=snap.event, split_keys=split_cols, generated_at=gen)
            n = len(rows)
        else:
            chosen = [p for p in people if args.race is None or p.get("race") == args.race]
            exports.export_participants(chosen, args.out, fmt, personal=args.personal)
            n = len(chosen)
            if args.personal:
                print("note: this file holds birth dates, phones and emails: keep it private (PIPL)",
                      file=sys.stderr)
    except OSError as e:
        raise UserError(f"--out {args.out}: cannot write: {e.strerror or e}") from None
    print(f"{args.out}: {n} row(s)")
    return 0
