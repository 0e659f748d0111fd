"""The pages' two languages: 简体中文 and English, every user-visible string in both.

Chosen per request: `?lang=zh|en` (remembered in a cookie), else the cookie, else the browser's
Accept-Language (the first of zh/en it prefers), else Chinese — most runners read Chinese first.
"""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")
COOKIE = "lang"

STRINGS: dict[str, tuple[str, str]] = {  # key → (zh, en)
    "results": ("成绩", "Results"),
    "provisional": ("非正式成绩", "Provisional results"),
    "official": ("正式成绩", "Official results"),
    "live": ("实时更新", "Live"),
    "offline": ("连接中断，正在重连…", "Connection lost, reconnecting…"),
    "overall": ("总排名", "Overall"),
    "by_gender": ("按性别", "By gender"),
    "by_category": ("按组别", "By category"),
    "search": ("搜索", "Search"),
    "search_ph": ("姓名或号码布", "Name or bib"),
    "search_for": ("搜索“{q}”", "Search “{q}”"),
    "no_match": ("没有找到符合的选手。", "No runner matches."),
    "clear": ("清除", "Clear"),
    "rank": ("名次", "Rank"),
    "bib": ("号码", "Bib"),
    "name": ("姓名", "Name"),
    "category": ("组别", "Category"),
    "club": ("俱乐部", "Club"),
    "race": ("项目", "Race"),
    "time": ("成绩", "Time"),
    "chip_time": ("净成绩", "Chip time"),
    "gun_time": ("枪声成绩", "Gun time"),
    "pace": ("配速", "Pace"),
    "per_km": ("/公里", "/km"),
    "splits": ("分段成绩", "Splits"),
    "point": ("计时点", "Point"),
    "distance": ("距离", "Distance"),
    "finishers": ("完赛 {n} 人", "{n} finishers"),
    "no_results": ("暂无成绩。", "No results yet."),
    "runner_bib": ("选手 {bib}", "Runner {bib}"),
    "overall_rank": ("总名次", "Overall"),
    "gender_rank": ("性别名次", "Gender"),
    "category_rank": ("组别名次", "Category"),
    "points": ("积分", "Points"),
    "of_n": ("共 {n} 人", "of {n}"),
    "points_earned": ("本次完赛获得 {n} 积分", "This finish earns {n} points"),
    "credited": ("已入账", "credited"),
    "pending": ("待同步后入账", "credited after sync"),
    "certificate": ("下载完赛证书 (PDF)", "Download certificate (PDF)"),
    "back": ("返回成绩", "Back to results"),
    "unknown_event": ("未找到该赛事。", "No such event."),
    "unknown_runner": ("未找到该选手。", "No such runner."),
    "events": ("赛事", "Events"),
    "no_events": ("暂无赛事。", "No event yet."),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "showing": ("第 {a}–{b} 位，共 {n} 位", "{a}–{b} of {n}"),
    "status_finished": ("完赛", "Finished"),
    "status_running": ("比赛中", "Running"),
    "status_DNF": ("未完赛", "DNF"),
    "status_DQ": ("取消成绩", "DQ"),
    "status_DNS": ("未出发", "DNS"),
    "gender_M": ("男子", "Men"),
    "gender_F": ("女子", "Women"),
    "gender_X": ("X 组", "X"),
    "all_categories": ("全部组别", "All categories"),
    "announcer": ("解说席", "Announcer"),
    "mat": ("计时点", "Mat"),
    "crossed": ("通过时间", "Crossed"),
    "place_so_far": ("当前名次", "Place so far"),
    "predicted": ("预计完赛", "Predicted finish"),
    "vip": ("贵宾", "VIP"),
    "no_crossings": ("还没有选手通过。", "No runner has crossed yet."),
    "finish_mat": ("终点", "Finish"),
    "lang_switch": ("English", "中文"),
    "privacy_note": ("不公开出生日期、电话和邮箱；选手可选择不公开姓名。",
                     "No birth dates, phones or emails are shown; runners may choose not to show their name."),
}


def pick_lang(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page language: explicit choice, then cookie, then Accept-Language, then Chinese."""
    for v in (query, cookie):
        if v:
            v = v.lower()
            if v.startswith("zh"):
                return "zh"
            if v.startswith("en"):
                return "en"
    best: tuple[float, str] | None = None
    for i, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for prm in params.split(";"):
            k, _, val = prm.strip().partition("=")
            if k == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        lang = "zh" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if lang and q > 0 and (best is None or q > best[0]):
            best = (q - i * 1e-6, lang)
    return best[1] if best else "zh"


def translator(lang: str) -> Any:
    """`t(key, **fmt)` for one language (an unknown key shows itself: a missing string is visible)."""
    idx = 0 if lang == "zh" else 1

    def t(key: str, **fmt: Any) -> str:
        pair = STRINGS.get(key)
        text = pair[idx] if pair else key
        return text.format(**fmt) if fmt else text

    return t
