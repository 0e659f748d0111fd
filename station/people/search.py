"""Manual search at the desk: by bib, name (Chinese or Latin, any part), registration id or phone suffix.

Why an index: a queue of runners is waiting and the desk laptop is slow, so a keystroke must answer in
milliseconds over 40,000 runners. Names are folded to a *compact* form (NFKC, case-folded, accents and
separators removed: "Zhang Wei", "zhang-wei", "ZHANGWEI" and "张 伟" all become one string each), and
indexed by character unigrams and bigrams; a query intersects the posting sets of its bigrams (smallest
first) and confirms the substring. Chinese names need no word splitting that way, and a Latin query may
be any part of a name ("wei", "ang w").

The index is incremental (`upsert`/`remove`) because participants change during the day (walk-ups, bib
changes, entries synced from other desks).
"""

from __future__ import annotations

import bisect
import heapq
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from station.people.privacy import phone_digits

#: Phone suffix search needs at least this many digits (fewer would list half the field).
MIN_PHONE_SUFFIX = 4


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", str(text)).casefold())
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def compact(text: str | None, *, folded: bool = False) -> str:
    """Fold a name for matching: NFKC, casefold, accents stripped, only letters and digits kept."""
    if not text:
        return ""
    return "".join(ch for ch in (text if folded else _fold(text)) if ch.isalnum())


def initials(text: str | None, *, folded: bool = False) -> set[str]:
    """First letters of each word of a Latin name ("José Álvarez" → {"j", "a"})."""
    if not text:
        return set()
    words = "".join(ch if ch.isalnum() else " " for ch in (text if folded else _fold(text))).split()
    return {w[0] for w in words if w[0].isascii()}


def _is_cjk(ch: str) -> bool:
    return not ch.isascii() and unicodedata.category(ch) == "Lo"


@dataclass(frozen=True, slots=True)
class Hit:
    """A match: which registration, what matched (``bib``, ``registration_id``, ``phone``, ``name``),
    and a rank (lower is better: exact before prefix before substring)."""

    registration_id: str
    matched: str
    rank: int


def _bib_key(bib: str) -> tuple[int, int, str]:
    """Bibs sort as numbers when they are digits (DESIGN.md), others after them as text."""
    return (0, int(bib), bib) if bib.isdigit() else (1, 0, bib)


_NO_BIB = (2, 0, "")


class SearchIndex:
    """Incremental index of participants for desk search."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # reg → compact name
        self._bibs: dict[str, str] = {}  # reg → bib
        self._bibkey: dict[str, tuple[int, int, str]] = {}  # reg → sort key of its bib
        self._phones: dict[str, str] = {}  # reg → phone digits
        self._uni: dict[str, set[str]] = {}
        self._initials: dict[str, set[str]] = {}  # Latin word initial → registrations
        self._reg_initials: dict[str, set[str]] = {}
        self._bi: dict[str, set[str]] = {}
        self._by_bib: dict[str, set[str]] = {}
        self._by_last4: dict[str, set[str]] = {}
        self._regs: dict[str, str] = {}  # casefolded reg id → reg id
        self._reg_sorted: list[str] = []
        self._reg_dirty = False

    def __len__(self) -> int:
        return len(self._bibs)

    # ----------------------------------------------------------------- maintenance
    @staticmethod
    def _grams(name: str) -> tuple[set[str], set[str]]:
        return set(name), {name[i : i + 2] for i in range(len(name) - 1)}

    def upsert(self, registration_id: str, *, bib: str | None, name: str | None, phone: str | None) -> None:
        reg = str(registration_id)
        if reg in self._bibs:
            self.remove(reg)
        folded = _fold(name) if name else ""
        cname = compact(folded, folded=True)
        bib_s = str(bib or "").strip()
        digits = phone_digits(phone)
        self._names[reg] = cname
        self._bibs[reg] = bib_s
        self._bibkey[reg] = _bib_key(bib_s) if bib_s else _NO_BIB
        self._phones[reg] = digits
        uni, bi = self._grams(cname)
        for g in uni:
            self._uni.setdefault(g, set()).add(reg)
        for g in bi:
            self._bi.setdefault(g, set()).add(reg)
        ini = initials(folded, folded=True)
        self._reg_initials[reg] = ini
        for ch in ini:
            self._initials.setdefault(ch, set()).add(reg)
        if bib_s:
            self._by_bib.setdefault(bib_s.casefold(), set()).add(reg)
        if len(digits) >= MIN_PHONE_SUFFIX:
            self._by_last4.setdefault(digits[-MIN_PHONE_SUFFIX:], set()).add(reg)
        self._regs[reg.casefold()] = reg
        self._reg_dirty = True

    def remove(self, registration_id: str) -> None:
        reg = str(registration_id)
        if reg not in self._bibs:
            return
        uni, bi = self._grams(self._names.pop(reg))
        for g in uni:
            self._discard(self._uni, g, reg)
        for g in bi:
            self._discard(self._bi, g, reg)
        for ch in self._reg_initials.pop(reg, ()):
            self._discard(self._initials, ch, reg)
        bib_s = self._bibs.pop(reg)
        self._bibkey.pop(reg, None)
        if bib_s:
            self._discard(self._by_bib, bib_s.casefold(), reg)
        digits = self._phones.pop(reg)
        if len(digits) >= MIN_PHONE_SUFFIX:
            self._discard(self._by_last4, digits[-MIN_PHONE_SUFFIX:], reg)
        self._regs.pop(reg.casefold(), None)
        self._reg_dirty = True

    @staticmethod
    def _discard(index: dict[str, set[str]], key: str, reg: str) -> None:
        s = index.get(key)
        if s is not None:
            s.discard(reg)
            if not s:
                del index[key]

    # ----------------------------------------------------------------- queries
    def by_bib(self, bib: str) -> list[str]:
        return sorted(self._by_bib.get(str(bib).strip().casefold(), ()))

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """Best matches first; each registration once (its best way of matching)."""
        q = unicodedata.normalize("NFKC", str(query or "")).strip()
        if not q:
            return []
        rank: dict[str, int] = {}
        how: dict[str, str] = {}

        def add(regs: Iterable[str], matched: str, r: int) -> None:
            for reg in regs:
                old = rank.get(reg)
                if old is None or r < old:
                    rank[reg] = r
                    how[reg] = matched

        qf = q.casefold()
        add(self._by_bib.get(qf, ()), "bib", 0)
        if qf in self._regs:
            add([self._regs[qf]], "registration_id", 0)
        elif len(qf) >= 3:
            add(self._reg_prefix(qf, limit), "registration_id", 3)
        digits = "".join(ch for ch in q if ch.isdigit())
        if digits and len(digits) >= MIN_PHONE_SUFFIX and len(digits) == len(q.replace(" ", "").replace("-", "")):
            cand = self._by_last4.get(digits[-MIN_PHONE_SUFFIX:], ())
            add((r for r in cand if self._phones[r].endswith(digits)), "phone", 1)
        cq = compact(q)
        if cq and not cq.isdigit():
            names = self._names
            exact: list[str] = []
            prefix: list[str] = []
            inner: list[str] = []
            for reg in self._name_candidates(cq):
                name = names[reg]
                (exact if name == cq else prefix if name.startswith(cq) else inner).append(reg)
            add(exact, "name", 0)
            add(prefix, "name", 1)
            add(inner, "name", 2)
        elif cq.isdigit() and len(cq) < MIN_PHONE_SUFFIX:
            # A partly typed bib: list bibs starting with it (exact first).
            add((r for r, b in self._bibs.items() if b.startswith(cq)), "bib", 4)
        bibkey = self._bibkey
        top = heapq.nsmallest(limit, rank, key=lambda r: (rank[r], bibkey.get(r, _NO_BIB), r))
        return [Hit(r, how[r], rank[r]) for r in top]

    def _name_candidates(self, cq: str) -> Iterable[str]:
        if len(cq) == 1:
            # One Chinese character is a useful query (a surname); one Latin letter matches half the
            # field, so it only matches the start of a word ("w" → "Wei", "Wang Li").
            return self._uni.get(cq, set()) if _is_cjk(cq) else self._initials.get(cq, set())
        grams = {cq[i : i + 2] for i in range(len(cq) - 1)}
        postings = sorted((self._bi.get(g, set()) for g in grams), key=len)
        if not postings[0]:
            return ()
        cand = set(postings[0])
        for p in postings[1:]:
            cand &= p
            if not cand:
                return ()
        if len(cq) == 2:
            return cand
        return (r for r in cand if cq in self._names[r])

    def _reg_prefix(self, qf: str, limit: int) -> list[str]:
        if self._reg_dirty:
            self._reg_sorted = sorted(self._regs)
            self._reg_dirty = False
        i = bisect.bisect_left(self._reg_sorted, qf)
        out: list[str] = []
        while i < len(self._reg_sorted) and self._reg_sorted[i].startswith(qf) and len(out) < limit:
            out.append(self._regs[self._reg_sorted[i]])
            i += 1
        return out
