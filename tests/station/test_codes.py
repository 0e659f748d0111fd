"""What a desk does with a code: verify a ticket, or look up a bib/name (no Qt)."""

from __future__ import annotations

from types import SimpleNamespace

from station.checkin.codes import desk_action, exact_bib_hit, looks_like_bib, looks_like_ticket

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWZha2UtZmFrZQ"


def test_short_codes_from_a_scanner_are_bibs_not_tickets() -> None:
    assert looks_like_ticket(JWT) and not looks_like_bib(JWT)
    for bib in ("1011", "5", "A123", "00012345"):
        assert looks_like_bib(bib) and desk_action(bib, burst=True) == "search"
    assert not looks_like_bib("123456789")  # longer than a bib
    assert desk_action(JWT, burst=True) == "scan" and desk_action(JWT, burst=False) == "scan"
    assert desk_action("https://example.com/x", burst=True) == "scan"  # a foreign QR: say why it is refused
    assert desk_action("王芳", burst=False) == "search" and desk_action("zhang wei", burst=False) == "search"


def test_a_unique_exact_bib_hit() -> None:
    def hit(bib: str) -> SimpleNamespace:
        return SimpleNamespace(participant=SimpleNamespace(bib=bib))

    a, b = hit("1011"), hit("10110")
    assert exact_bib_hit("1011", [a, b]) is a
    assert exact_bib_hit("a12", [hit("A12")]) is not None
    assert exact_bib_hit("101", [a, b]) is None
    assert exact_bib_hit("1011", [a, hit("1011")]) is None  # two runners with one bib: choose
