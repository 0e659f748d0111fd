"""Verbs `checkin` (desk verdicts) and `tickets` (organizer keys, signed QR tickets, revocation).

`worun-station checkin CODE` / `checkin --image FILE` prints the verdict and exits 0 for
ok/already/unknown, 1 for invalid (DESIGN.md), so scripts and a headless desk can use it.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from station.cli import Context
from station.errors import CommandError, UserError
from station.log.entry_log import EntryLog


def _operator(args: argparse.Namespace) -> str:
    from station.cli.core import operator_name

    return operator_name(args)


def register(sub: Any) -> None:
    ck = sub.add_parser("checkin", help="check a runner in: verdict for a scanned code or a photo of it",
                        description="Verdict for a scanned ticket code. Exit 0: ok, already, unknown; 1: invalid.")
    ck.add_argument("code", nargs="?", help="the scanned text (a signed ticket)")
    ck.add_argument("--image", type=Path, help="decode the QR code(s) in a photo or screenshot")
    ck.add_argument("--search", metavar="QUERY", help="find runners by bib, name, registration id or phone suffix")
    ck.add_argument("--registration", metavar="ID",
                    help="check in without a ticket (after an ID check); needs --reason")
    ck.add_argument("--reason", help="why the runner has no ticket (lost, phone dead…)")
    ck.add_argument("--undo", action="store_true", help="undo this desk's last check-in (within 2 minutes)")
    ck.add_argument("--desk", help="desk id (default: this station's id)")
    ck.add_argument("--operator", help="who checks in (default: $WORUN_OPERATOR or your login)")
    ck.add_argument("--json", action="store_true", help="print the verdict as JSON")
    ck.set_defaults(func=cmd_checkin)

    tk = sub.add_parser("tickets", help="organizer: signing keys and signed QR tickets")
    tks = tk.add_subparsers(dest="action", required=True)
    kg = tks.add_parser("keygen", help="make a signing key; prints the public key line for the event file")
    kg.add_argument("--kid", default="k1", help="key id (default k1; use k2, k3… when rotating)")
    kg.add_argument("--out", type=Path, help="private key file (default: ticket-key-<kid>.pem)")
    kg.add_argument("--force", action="store_true", help="overwrite an existing key file")
    kg.set_defaults(func=cmd_keygen)

    iss = tks.add_parser("issue", help="a signed QR ticket (PNG) per participant")
    iss.add_argument("--key", type=Path, required=True, help="private key file from `tickets keygen`")
    iss.add_argument("--out", type=Path, default=Path("tickets"), help="output folder (default ./tickets)")
    iss.add_argument("--with-names", action="store_true", help="put runners' names in the tickets (off: PIPL)")
    iss.add_argument("--race", action="append", help="only this race (repeatable)")
    iss.add_argument("--bib", action="append", help="only this bib (repeatable): a reprint")
    iss.add_argument("--registration", action="append", help="only this registration id (repeatable)")
    iss.add_argument("--expires", help="YYYY-MM-DD: valid until the end of that day (default: day after the event)")
    iss.add_argument("--replace", action="store_true",
                     help="revoke these runners' earlier tickets (reprint after a loss or a leak)")
    iss.add_argument("--operator", help="who issues (default: $WORUN_OPERATOR or your login)")
    iss.set_defaults(func=cmd_issue)

    rv = tks.add_parser("revoke", help="revoke one ticket or all tickets of a registration")
    g = rv.add_mutually_exclusive_group(required=True)
    g.add_argument("--registration", help="registration id")
    g.add_argument("--jti", help="one ticket's id (the jti column of tickets.csv)")
    rv.add_argument("--reason", default="", help="why (shown at review)")
    rv.add_argument("--operator", help="who revokes (default: $WORUN_OPERATOR or your login)")
    rv.set_defaults(func=cmd_revoke)


# ------------------------------------------------------------------------------------------- checkin
def _desk(store: EntryLog, args: argparse.Namespace) -> Any:
    from station.checkin.desk import CheckinDesk

    return CheckinDesk(store, args.desk or store.station_id, _operator(args))


def _print_verdict(v: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(v.to_json(), ensure_ascii=False))
    else:
        print(v.message())


def cmd_checkin(args: argparse.Namespace, ctx: Context) -> int:
    modes = [m for m in (args.code, args.image, args.search, args.registration, args.undo or None) if m]
    if len(modes) != 1:
        raise UserError("give exactly one of: CODE, --image FILE, --search QUERY, --registration ID, --undo")
    codes: list[str] = []
    if args.image is not None:
        from drivers.qr import ImageReadError, decode_image_file

        try:
            found = decode_image_file(args.image)
        except ImageReadError as e:
            raise UserError(str(e)) from e
        if not found:
            raise UserError(f"{args.image}: no QR code found in the image")
        codes = list(dict.fromkeys(d.text for d in found))
    with ctx.open_store() as store:
        desk = _desk(store, args)
        if args.search:
            hits = desk.search(args.search)
            for h in hits:
                p = h.participant
                status = f"checked in {h.checked_in.desk}" if h.checked_in else "not checked in"
                print(f"{p.bib}\t{p.name}\t{p.race}\t{p.wave}\t{p.registration_id}\t{p.phone_masked}\t"
                      f"{h.matched}\t{status}")
            if not hits:
                print(f"no runner matches {args.search!r}", file=sys.stderr)
            return 0
        if args.undo:
            rec = desk.undo_last(args.reason or "undone at the desk")
            print(f"undone: check-in of bib {rec.bib} (registration {rec.registration_id})")
            return 0
        if args.registration:
            v = desk.checkin_by_search(args.registration, reason=args.reason or "")
            _print_verdict(v, args.json)
            return v.exit_code
        if args.code is not None:
            codes = [args.code]
        worst = 0
        for code in codes:
            v = desk.scan(code)
            _print_verdict(v, args.json)
            worst = max(worst, v.exit_code)
        return worst


# ------------------------------------------------------------------------------------------- tickets
def cmd_keygen(args: argparse.Namespace, ctx: Context) -> int:
    from station.checkin import tickets

    kid = str(args.kid).strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", kid):
        raise UserError(f"--kid {kid!r}: use 1-32 letters, digits, '.', '_' or '-'")
    out = args.out or Path(f"ticket-key-{kid}.pem")
    key = tickets.generate_private_key()
    tickets.write_private_key(out, key, overwrite=args.force)
    print(f'{kid} = "{tickets.public_key_b64(key)}"')
    print(f"private key written to {out} — keep it off the desk laptops; add the line above under "
          "[checkin] public_keys in the event file", file=sys.stderr)
    return 0


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _latest(store: EntryLog, kind: str) -> list[Any]:
    from station.log.latest import latest_by

    key = (lambda e: "") if kind == "event_config" else (lambda e: str(e.payload.get("registration_id") or ""))
    return list(latest_by(store.entries([kind]), key).values())


def cmd_issue(args: argparse.Namespace, ctx: Context) -> int:
    from station.checkin import tickets

    key = tickets.load_private_key(args.key)
    with ctx.open_store() as store:
        cfgs = _latest(store, "event_config")
        if not cfgs:
            raise UserError("no event loaded: run `worun-station event load EVENT.toml` first")
        cfg = cfgs[0].payload
        try:
            kid = tickets.event_signer(key, cfg).kid  # the event's key? (checked before anyone is read)
        except CommandError as e:
            raise UserError(f"--{e.field}: {e}") from None
        people = sorted((e.payload for e in _latest(store, "participant")),
                        key=lambda p: (len(str(p.get("bib") or "")), str(p.get("bib") or "")))
        if args.race:
            people = [p for p in people if str(p.get("race")) in set(args.race)]
        if args.bib:
            wanted = set(args.bib)
            people = [p for p in people if str(p.get("bib")) in wanted]
            missing = wanted - {str(p.get("bib")) for p in people}
            if missing:
                raise UserError(f"no participant with bib {', '.join(sorted(missing))}")
        if args.registration:
            wanted = set(args.registration)
            people = [p for p in people if str(p.get("registration_id")) in wanted]
            missing = wanted - {str(p.get("registration_id")) for p in people}
            if missing:
                raise UserError(f"no participant with registration id {', '.join(sorted(missing))}")
        if not people:
            raise UserError("no participants to issue tickets for (import them with `participants import`)")
        iat = int(time.time())
        signed = tickets.sign_tickets(cfg, key, people, now_s=iat, expires=args.expires, with_names=args.with_names)
        args.out.mkdir(parents=True, exist_ok=True)
        manifest = args.out / "tickets.csv"
        with manifest.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["registration_id", "bib", "race", "file", "jti", "exp", "token"])
            for p, claims, token in signed:
                name = _SAFE.sub("_", f"{p.get('bib') or 'nobib'}_{p['registration_id']}") + ".png"
                tickets.render_qr_png(token, args.out / name)
                w.writerow([p["registration_id"], p.get("bib") or "", p.get("race") or "", name, claims["jti"],
                            claims["exp"], token])
        if args.replace:
            from station.checkin.desk import CheckinDesk

            desk = CheckinDesk(store, store.station_id, _operator(args))
            try:
                desk.revoke_earlier([str(p["registration_id"]) for p in people], iat, "reprinted")
            finally:
                desk.close()
    print(f"{len(people)} ticket(s) signed with key {kid!r} in {args.out} (manifest: {manifest})")
    if args.replace:
        print(f"earlier tickets of those {len(people)} runner(s) are revoked", file=sys.stderr)
    return 0


def cmd_revoke(args: argparse.Namespace, ctx: Context) -> int:
    from station.checkin.desk import CheckinDesk

    with ctx.open_store() as store:
        desk = CheckinDesk(store, store.station_id, _operator(args))
        desk.revoke(registration_id=args.registration, jti=args.jti, reason=args.reason)
    what = f"ticket {args.jti}" if args.jti else f"every ticket of registration {args.registration}"
    print(f"revoked {what}")
    return 0
