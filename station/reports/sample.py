"""Deterministic sample data in the exact shapes the renderers take.

Why in the package: tests, the benchmark and a UI preview all need realistic rows (Chinese, Latin and
mixed names, splits, every status, ranks consistent with the Results CSV contract) without running a
whole race through the results engine.
"""

from __future__ import annotations

import random
from typing import Any

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕鹏辉飞鑫宇浩然子轩梓涵欣怡佳琪思远一鸣雨桐晨曦"
LATIN = ["Anna Müller", "John Smith", "Marie Dubois", "Kenji Sato", "Olga Ivanova", "José García"]
COMPOUND = ["欧阳", "司马", "上官", "诸葛"]
AGE_GROUPS = ["U20", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"]


def event_config(races: int = 1, splits: int = 2) -> dict[str, Any]:
    """A normalized event config with `races` races sharing `splits` split points."""
    race_list = []
    for i in range(races):
        dist = [42195, 21098, 10000, 5000][i % 4]
        race_list.append({"id": ["full", "half", "10k", "5k"][i % 4] + ("" if i < 4 else str(i)),
                          "name": ["全程马拉松", "半程马拉松", "10公里", "5公里"][i % 4], "distance_m": dist,
                          "ranking": "chip", "waves": [{"id": "A", "start": "07:30:00"},
                                                       {"id": "B", "start": "07:40:00"}]})
    points = [{"id": "start", "kind": "start", "distance_m": 0}]
    for s in range(splits):
        points.append({"id": f"k{(s + 1) * 5}", "kind": "split", "distance_m": (s + 1) * 5000})
    points.append({"id": "finish", "kind": "finish", "distance_m": race_list[0]["distance_m"]})
    return {"event": {"id": "wo-run-shanghai-2026", "name": "WO.RUN 上海城市跑 Shanghai 2026",
                      "date": "2026-11-29", "timezone": "Asia/Shanghai", "points_per_km": 10},
            "races": race_list, "timing_points": points}


def name(rng: random.Random, i: int) -> str:
    if i % 23 == 7:
        return LATIN[i % len(LATIN)]
    if i % 31 == 5:
        return f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)} Lee"  # mixed scripts in one name
    sur = rng.choice(COMPOUND) if i % 41 == 3 else rng.choice(SURNAMES)
    return sur + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def participants(n: int, event: dict[str, Any], seed: int = 1) -> list[dict[str, Any]]:
    """`participant` payloads (with private fields, so privacy filters have something to remove)."""
    rng = random.Random(seed)
    races = event["races"]
    out = []
    for i in range(n):
        race = races[i % len(races)]
        out.append({"registration_id": f"R{i + 1:06d}", "bib": str(1001 + i), "name": name(rng, i),
                    "gender": "F" if rng.random() < 0.4 else ("X" if i % 97 == 0 else "M"),
                    "birth_date": f"{rng.randint(1950, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "race": race["id"], "wave": rng.choice(race.get("waves") or [{"id": "A"}])["id"],
                    "chips": [f"{3000000 + i:07d}"], "runner_id": f"U{i + 77:07d}" if i % 3 else "",
                    "club": rng.choice(["", "", "上海跑团", "Shanghai Runners", "静安跑者俱乐部"]),
                    "phone": f"138{rng.randint(10000000, 99999999)}", "email": f"r{i}@example.com"})
    return out


def results_rows(n: int, event: dict[str, Any] | None = None, seed: int = 1) -> list[dict[str, Any]]:
    """Results rows in contract key order and contract row order, ranks consistent."""
    event = event or event_config()
    rng = random.Random(seed)
    split_keys = [f"split_{p['id']}_ms" for p in event["timing_points"] if p["kind"] == "split"]
    people = participants(n, event, seed)
    out: list[dict[str, Any]] = []
    for race in event["races"]:
        mine = [p for p in people if p["race"] == race["id"]]
        rows = []
        for p in mine:
            age = 2026 - int(p["birth_date"][:4])
            age_group = AGE_GROUPS[0 if age < 20 else min((age - 10) // 10, len(AGE_GROUPS) - 1)]
            roll = rng.random()
            status = ("finished" if roll < 0.9 else "DNF" if roll < 0.94 else "DNS" if roll < 0.97
                      else "DQ" if roll < 0.98 else "running")
            chip = int(race["distance_m"] * rng.uniform(0.18, 0.5) * 1000) + rng.randint(0, 999)
            gun = chip + rng.randint(0, 240_000)
            row: dict[str, Any] = {"race": race["id"], "overall_rank": None, "bib": p["bib"],
                                   "name": p["name"], "gender": p["gender"],
                                   "category": p["gender"] + age_group, "category_rank": None,
                                   "gender_rank": None, "status": status, "gun_time": "", "chip_time": "",
                                   "gun_ms": None, "chip_ms": None}
            for j, k in enumerate(split_keys):
                row[k] = int(chip * (j + 1) * 5000 / race["distance_m"]) if status != "DNS" else None
                if row[k] is not None and row[k] >= chip:
                    row[k] = None
            if status == "finished":
                row.update(gun_ms=gun, chip_ms=chip, gun_time=_fmt(gun), chip_time=_fmt(chip))
            row["registration_id"] = p["registration_id"]
            row["club"] = p["club"]
            rows.append(row)
        fin = sorted((r for r in rows if r["status"] == "finished"), key=lambda r: (r["chip_ms"], int(r["bib"])))
        counters: dict[str, int] = {}
        for i, r in enumerate(fin, 1):
            r["overall_rank"] = i
            for key, group in (("gender_rank", "g:" + r["gender"]), ("category_rank", "c:" + r["category"])):
                counters[group] = counters.get(group, 0) + 1
                r[key] = counters[group]
        order = {"running": 0, "DNF": 1, "DQ": 2, "DNS": 3}
        rest = sorted((r for r in rows if r["status"] != "finished"),
                      key=lambda r: (order[r["status"]], int(r["bib"])))
        out += fin + rest
    return out


def _fmt(ms: int) -> str:
    s = -(-ms // 1000)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
