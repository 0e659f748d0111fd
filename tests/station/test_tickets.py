"""Ticket signing and offline verification: every way a code can be wrong is refused with a reason."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.checkin import tickets
from station.errors import UserError

EVT = "wo-run-shanghai-2026"
NOW = int(time.time())


@pytest.fixture(scope="module")
def key():
    return tickets.generate_private_key()


@pytest.fixture(scope="module")
def verifier(key):
    return tickets.TicketVerifier(EVT, {"k1": tickets.public_key_b64(key)}, timezone="Asia/Shanghai")


def sign(key, kid="k1", **over):
    claims = tickets.ticket_claims(EVT, {"registration_id": "R001", "bib": "101", "race": "10k",
                                         "name": "张伟", "runner_id": "U9"}, iat=NOW, exp=NOW + 3600)
    claims.update(over)
    return tickets.TicketSigner(key, kid).sign(claims)


def b64url(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_round_trip(key, verifier):
    tok = sign(key)
    assert len(tok) < 400  # fits a QR that a webcam reads at arm's length
    chk = verifier.verify(tok, NOW * 1000)
    assert chk.ok, chk.reason
    assert chk.kid == "k1"
    c = chk.claims
    assert (c["evt"], c["sub"], c["bib"], c["race"], c["rid"]) == (EVT, "R001", "101", "10k", "U9")
    assert "name" not in c  # PIPL: no name unless the organizer asks
    assert jwt.get_unverified_header(tok)["alg"] == "EdDSA"


def test_name_only_when_asked(key, verifier):
    claims = tickets.ticket_claims(EVT, {"registration_id": "R1", "bib": "1", "race": "10k", "name": "李娜"},
                                   iat=NOW, exp=NOW + 60, with_name=True)
    chk = verifier.verify(tickets.TicketSigner(key, "k1").sign(claims), NOW * 1000)
    assert chk.ok and chk.claims["name"] == "李娜"


def test_several_keys_selected_by_kid(key):
    k2 = tickets.generate_private_key()
    v = tickets.TicketVerifier(EVT, {"k1": tickets.public_key_b64(key), "k2": tickets.public_key_b64(k2)})
    assert v.verify(sign(key, "k1"), NOW * 1000).ok
    assert v.verify(sign(k2, "k2"), NOW * 1000).ok
    # k2's ticket presented under k1's id: the signature does not match k1.
    assert v.verify(sign(k2, "k1"), NOW * 1000).problem == "bad_signature"


def test_tampered_payload(key, verifier):
    h, p, s = sign(key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["bib"] = "1"
    chk = verifier.verify(f"{h}.{b64url(claims)}.{s}", NOW * 1000)
    assert not chk.ok and chk.problem == "bad_signature"
    assert "altered or forged" in chk.reason
    assert chk.claims == {}  # unverified claims are never trusted


def test_tampered_signature(key, verifier):
    h, p, s = sign(key).split(".")
    s2 = ("A" if s[0] != "A" else "B") + s[1:]
    assert verifier.verify(f"{h}.{p}.{s2}", NOW * 1000).problem == "bad_signature"
    assert verifier.verify(f"{h}.{p}.", NOW * 1000).problem in ("bad_signature", "garbage")
    assert verifier.verify(f"{h}.{p}.{s[:20]}", NOW * 1000).problem in ("bad_signature", "garbage")


def test_wrong_key(verifier):
    other = tickets.generate_private_key()
    chk = verifier.verify(sign(other, "k1"), NOW * 1000)
    assert chk.problem == "bad_signature"


def test_unknown_kid(key, verifier):
    chk = verifier.verify(sign(key, "k9"), NOW * 1000)
    assert chk.problem == "unknown_kid" and "'k9'" in chk.reason


def test_revoked_key(key):
    v = tickets.TicketVerifier(EVT, {"k1": tickets.public_key_b64(key)}, ["k1"])
    chk = v.verify(sign(key), NOW * 1000)
    assert chk.problem == "revoked_key" and "revoked" in chk.reason


def test_other_event(key, verifier):
    chk = verifier.verify(sign(key, evt="wo-run-beijing-2026"), NOW * 1000)
    assert chk.problem == "other_event"
    assert "wo-run-beijing-2026" in chk.reason and chk.claims["sub"] == "R001"


def test_expired_reason_in_event_zone(key, verifier):
    exp = 1795968000  # 2026-11-29 16:00 UTC = 2026-11-30 00:00 Asia/Shanghai
    tok = sign(key, exp=exp)
    assert verifier.verify(tok, (exp + 60) * 1000).ok  # within the clock leeway
    chk = verifier.verify(tok, (exp + 3600) * 1000)
    assert chk.problem == "expired"
    assert chk.reason == "ticket expired on 2026-11-30 00:00"


def test_missing_claims_and_other_algorithms(key, verifier):
    assert verifier.verify(sign(key, sub=""), NOW * 1000).problem == "missing_claim"
    hs = jwt.encode({"evt": EVT, "sub": "R1", "exp": NOW + 60}, "secret-secret-secret-secret-secret!",
                    algorithm="HS256", headers={"kid": "k1"})
    assert verifier.verify(hs, NOW * 1000).problem == "bad_alg"
    none = b64url({"alg": "none", "kid": "k1"}) + "." + b64url({"evt": EVT, "sub": "R1", "exp": NOW + 60}) + "."
    assert verifier.verify(none, NOW * 1000).problem == "bad_alg"
    nokid = jwt.encode({"evt": EVT, "sub": "R1", "exp": NOW + 60}, key, algorithm="EdDSA")
    assert verifier.verify(nokid, NOW * 1000).problem == "no_kid"


@pytest.mark.parametrize("code, problem", [
    ("", "empty"),
    ("   \r\n", "empty"),
    ("hello", "garbage"),
    ("https://wo.run/", "garbage"),
    ("a.b.c", "garbage"),
    ("eyJ.eyJ.xx", "garbage"),
    ("..", "garbage"),
    ("张伟.张伟.张伟", "garbage"),
    ("\x00\x01\x02.\xff.", "garbage"),
    ("x" * 100_000, "oversized"),
    ("a." * 3000, "oversized"),
])
def test_garbage_is_refused_with_a_reason(verifier, code, problem):
    chk = verifier.verify(code, NOW * 1000)
    assert not chk.ok and chk.problem == problem and chk.reason


def test_non_text_input(verifier):
    assert verifier.verify(b"bytes", NOW * 1000).problem == "garbage"  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_fuzz_never_crashes(code):
    v = tickets.TicketVerifier(EVT, {"k1": "MCowBQYDK2VwAyEA" + "A" * 28})
    chk = v.verify(code, NOW * 1000)
    assert not chk.ok and chk.reason


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_jwt_shaped(data):
    b = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    code = f"eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.{b}.{b[:86]}"
    v = tickets.TicketVerifier(EVT, {"k1": tickets.public_key_b64(tickets.generate_private_key())})
    chk = v.verify(code, NOW * 1000)
    assert not chk.ok and chk.reason


def test_broken_event_key_is_named(key):
    v = tickets.TicketVerifier(EVT, {"k1": "not-base64!!"})
    chk = v.verify(sign(key), NOW * 1000)
    assert chk.problem == "bad_event_key" and "'k1'" in chk.reason


def test_key_file_round_trip(tmp_path, key):
    f = tmp_path / "k.pem"
    tickets.write_private_key(f, key)
    assert f.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = tickets.load_private_key(f)
    assert tickets.public_key_b64(again) == tickets.public_key_b64(key)
    with pytest.raises(UserError, match="already exists"):
        tickets.write_private_key(f, key)
    assert tickets.find_kid(again, {"old": tickets.public_key_b64(tickets.generate_private_key()),
                                    "k7": tickets.public_key_b64(key)}) == "k7"
    with pytest.raises(UserError, match="not in the event"):
        tickets.find_kid(again, {"k1": "garbage"})


def test_bad_key_files(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(UserError, match=r"bad\.pem"):
        tickets.load_private_key(bad)
    with pytest.raises(UserError, match="cannot read"):
        tickets.load_private_key(tmp_path / "missing.pem")


def test_public_key_formats(key):
    b64 = tickets.public_key_b64(key)
    urlsafe = b64.replace("+", "-").replace("/", "_").rstrip("=")
    assert tickets.public_key_b64(tickets.load_public_key(urlsafe)) == b64
    with pytest.raises(ValueError):
        tickets.load_public_key(base64.b64encode(b"short").decode())


def test_code_hash_is_stable_and_short():
    assert tickets.code_hash(" abc \n") == tickets.code_hash("abc")
    assert len(tickets.code_hash("x" * 5000)) == 32


EVENT = {"event": {"id": EVT, "date": "2026-11-29", "timezone": "Asia/Shanghai"}}
#: 2026-12-01 00:00 in Shanghai: the end of the day after the event (30 November)
END_OF_DAY_AFTER = 1_796_054_400


def test_expiry_is_the_end_of_the_day_after_the_event() -> None:
    race_morning = 1_795_908_600  # 2026-11-29 07:30 Shanghai
    assert tickets.ticket_expiry(EVENT, race_morning) == END_OF_DAY_AFTER
    assert tickets.ticket_expiry({"event": {"id": EVT}}, race_morning) == race_morning + 30 * 86400
    # --expires: the end of that day, in the event's zone
    assert tickets.ticket_expiry(EVENT, race_morning, "2027-01-05") == 1_799_164_800  # 2027-01-06 00:00 +08


def test_tickets_that_would_be_born_expired_are_refused() -> None:
    after = END_OF_DAY_AFTER + 86400  # a week-later laptop signing for a past event
    with pytest.raises(tickets.ExpiredTicketsError) as err:
        tickets.ticket_expiry(EVENT, after)
    assert "2026-12-01 00:00 (Asia/Shanghai)" in str(err.value) and "--expires YYYY-MM-DD" in str(err.value)
    assert tickets.ticket_expiry(EVENT, after, "2027-11-28") > after
    with pytest.raises(UserError, match="expected a date YYYY-MM-DD"):
        tickets.ticket_expiry(EVENT, after, "28/11/2027")
