"""Desk search: bib, names (Chinese and Latin, partial), registration id, phone suffix; masked contacts."""

from __future__ import annotations

import random

import pytest
from test_checkin_support import make_env

from station.checkin.desk import CheckinDesk
from station.people.privacy import mask_email, mask_phone, phone_digits
from station.people.search import SearchIndex, compact


@pytest.fixture
def desk(tmp_path):
    env = make_env(tmp_path)
    yield CheckinDesk(env.store, "desk-1", "alice")
    env.store.close()


def regs(results):
    return [r.participant.registration_id for r in results]


def test_chinese_names_partial(desk):
    assert regs(desk.search("张伟")) == ["R001"]
    assert regs(desk.search("伟")) == ["R001"]
    assert regs(desk.search("李")) == ["R002"]
    assert desk.search("王") == []


def test_latin_names_partial_and_folded(desk):
    assert regs(desk.search("zhang wei")) == ["R003"]
    assert regs(desk.search("ZHANGWEI")) == ["R003"]
    assert regs(desk.search("wei")) == ["R003"]
    assert regs(desk.search("jose")) == ["R004"]  # accents folded
    assert regs(desk.search("Álv")) == ["R004"]


def test_bib_registration_and_phone(desk):
    [hit] = desk.search("102")
    assert hit.matched == "bib" and hit.participant.registration_id == "R002"
    assert regs(desk.search("r003")) == ["R003"]
    assert desk.search("r003")[0].matched == "registration_id"
    assert regs(desk.search("5678")) == ["R002"]  # +86 139 0000 5678
    assert desk.search("5678")[0].matched == "phone"
    assert regs(desk.search("00001111")) == ["R003"]
    assert desk.search("9999") == []


def test_results_are_masked_and_show_checkin_status(desk, tmp_path):
    [hit] = desk.search("张伟")
    assert hit.participant.phone_masked == "138****1234"
    assert hit.participant.email_masked == "zh***@example.com"
    assert hit.checked_in is None
    desk.checkin_by_search("R001", reason="lost ticket")
    assert desk.search("张伟")[0].checked_in.desk == "desk-1"


def test_updates_reindex(desk):
    desk.change_participant("R001", bib="777")
    assert desk.search("101") == [] or all(r.participant.registration_id != "R001" for r in desk.search("101"))
    assert regs(desk.search("777")) == ["R001"]


def test_ranking_exact_before_partial():
    idx = SearchIndex()
    idx.upsert("a", bib="3", name="王伟伟", phone=None)
    idx.upsert("b", bib="2", name="王伟", phone=None)
    idx.upsert("c", bib="1", name="李王伟", phone=None)
    assert [h.registration_id for h in idx.search("王伟")] == ["b", "a", "c"]
    idx.remove("b")
    assert [h.registration_id for h in idx.search("王伟")] == ["a", "c"]
    assert idx.search("") == [] and idx.search("   ") == []


def test_partial_bib_lists_bibs_starting_with_it():
    idx = SearchIndex()
    for i in range(1, 40):
        idx.upsert(f"r{i}", bib=str(i), name=f"n{i}", phone=None)
    got = [h.registration_id for h in idx.search("3", limit=50)]
    assert got[0] == "r3" and set(got) == {"r3", *(f"r{i}" for i in range(30, 40))}


def test_many_runners(tmp_path):
    rng = random.Random(1)
    idx = SearchIndex()
    sur = "王李张刘陈杨黄赵吴周"
    for i in range(5000):
        idx.upsert(f"R{i:05d}", bib=str(i + 1), name=rng.choice(sur) + rng.choice("伟芳娜敏静丽强磊军洋") +
                   rng.choice(["", "华", "明"]), phone=f"13{rng.randrange(10**9):09d}")
    idx.upsert("X", bib="99999", name="欧阳娜娜", phone="13900009999")
    assert [h.registration_id for h in idx.search("欧阳")] == ["X"]
    assert len(idx.search("王", limit=20)) == 20
    assert "X" in [h.registration_id for h in idx.search("9999")]


def test_compact():
    assert compact(" Zhang-Wei ") == "zhangwei"
    assert compact("买买提·艾力") == "买买提艾力"
    assert compact("Ｚｈａｎｇ") == "zhang"  # full-width letters typed with a Chinese IME


@pytest.mark.parametrize("phone, masked", [
    ("13812341234", "138****1234"),
    ("+86 138-1234-1234", "138****1234"),
    ("008613812341234", "138****1234"),
    ("0215551234", "******1234"),
    ("123", "***"),
    ("", ""),
    (None, ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_email_and_digits():
    assert mask_email("zhang.wei@example.com") == "zh***@example.com"
    assert mask_email("ab@x.cn") == "a***@x.cn"
    assert mask_email("no-at-sign") == "********"
    assert mask_email(None) == ""
    assert phone_digits("+86 (139) 0000-5678") == "13900005678"
