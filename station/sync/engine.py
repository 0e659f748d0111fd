"""The station sync engine: an outbox over the event log, pushed to and pulled from the online ledger.

Why this shape:
- The event log *is* the outbox. Own entries with seq > the acknowledged seq (kept in `sync_state`) are
  waiting; nothing is copied or marked. Push sends them in seq order in batches and records the ledger's
  `acked_seq`. A lost answer is harmless: the ledger acknowledges stored entries again.
- Pull asks for every station's entries after an opaque cursor (a per-station seq vector kept in
  `sync_state`), stores peers' entries with `Store.store_foreign` (own ones are skipped) and only then
  records the new cursor, so a crash between the two re-pulls and de-duplicates.
- One background thread, Qt-free. Status changes go to listeners (the UI bridges them to signals).
- Offline is normal at a venue: failures back off exponentially with jitter (no busy loop, no
  thundering herd when the venue's network returns) up to `backoff_max` seconds, so a station resumes
  within a few seconds of the ledger answering again. While online and idle it waits for new local
  entries (woken by the store) or the pull interval.
- Refusals that retrying cannot fix (a conflicting entry: this station's database was replaced; a
  refused token) are shown loudly in plain words and retried only at the slowest pace.
"""

from __future__ import annotations

import io
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from station.errors import UserError
from station.log.contract import check_wire
from station.log.entries import Entry, dumps
from station.log.entry_log import EntryLog
from station.log.store import Quarantined, expand_raw, own_rows_after
from station.memtrim import maybe_trim

if TYPE_CHECKING:
    from station.log.store import Store
    from station.sync.publish import Publisher

log = logging.getLogger(__name__)

KEY_ACKED = "sync.acked_seq"
KEY_CURSOR = "sync.pull_cursor"
KEY_TARGET = "sync.target"
KEY_LAST_SYNC = "sync.last_sync_ms"

PUSH_BATCH = 5_000
PUSH_MAX_BYTES = 8 * 1024 * 1024
PULL_LIMIT = 5_000


def unsynced(store: EntryLog) -> int:
    """Own entries the ledger has not acknowledged yet: what `info` prints and the app's header shows.

    One definition, because a timer reads it to know whether the laptop may be switched off (a copy
    that read another state key once printed every entry as unsynced after a complete sync)."""
    return max(0, store.last_seq() - int(store.get_state(KEY_ACKED, "0") or 0))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class SyncStatus:
    """What the UI shows about sync. `last_error` is plain words for a volunteer, or None."""

    state: str = "starting"  # starting | syncing | online | offline | error | stopped
    online: bool = False
    waiting: int = 0  # own entries not yet acknowledged by the ledger
    last_sync_ms: int | None = None  # UTC ms of the last complete push+pull
    last_error: str | None = None
    pushed: int = 0  # entries acknowledged during this run
    pulled: int = 0  # peer entries stored during this run
    published: int = 0  # result_published entries written during this run
    quarantined: int = 0  # peer entries set aside during this run (they break the entry contract)
    conflicts: tuple[str, ...] = field(default_factory=tuple)  # refused peer entries (same seq, other uuid)
    event_id: str | None = None
    can_publish: bool = False


class SyncError(Exception):
    """A failed round. `offline`: the ledger could not be reached; `fatal`: retrying will not help."""

    def __init__(self, message: str, *, offline: bool = False, fatal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.offline = offline
        self.fatal = fatal


StatusListener = Callable[[SyncStatus], None]


class SyncEngine:
    """Push/pull between one station's store and the ledger. `start()` runs it on a thread;
    `sync_once()` runs one complete round in the caller's thread."""

    def __init__(
        self,
        store: Store,
        ledger_url: str,
        token: str,
        *,
        publisher: Publisher | None = None,
        auto_publish: bool = True,
        push_batch: int = PUSH_BATCH,
        pull_limit: int = PULL_LIMIT,
        poll_s: float = 2.0,
        backoff_min: float = 0.2,
        backoff_max: float = 3.0,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = ledger_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise UserError(f"--ledger {ledger_url!r}: give an http:// or https:// address")
        if not token.strip():
            raise UserError("--token must not be empty")
        self.store = store
        self.url = url
        self.publisher = publisher
        self.auto_publish = auto_publish
        self.push_batch = push_batch
        self.pull_limit = pull_limit
        self.poll_s = poll_s
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.timeout_s = timeout_s
        self._client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token.strip()}", "User-Agent": "worun-station-sync/1"},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            transport=transport,
        )
        self._event: str | None = None
        self._lock = threading.Lock()
        self._listeners: list[StatusListener] = []
        last = store.get_state(KEY_LAST_SYNC)
        self._status = SyncStatus(last_sync_ms=int(last) if last else None)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._raw: sqlite3.Connection | bool | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="station-sync-prep")
        store.subscribe(self._on_commit, runs=True)
        self._set(waiting=self._waiting())

    # ------------------------------------------------------------------ status
    @property
    def status(self) -> SyncStatus:
        return self._status

    def add_listener(self, fn: StatusListener) -> None:
        """`fn(status)` is called on the sync thread after every change (keep it quick)."""
        self._listeners.append(fn)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            new = replace(self._status, **changes)
            if new == self._status:
                return
            self._status = new
        for fn in list(self._listeners):
            try:
                fn(new)
            except Exception:
                log.exception("sync status listener failed")

    def _waiting(self) -> int:
        return unsynced(self.store)

    def _on_commit(self, entries: list[Entry]) -> None:
        # Runs on the store's writer thread: only flag the work.
        sid = self.store.station_id
        if any(e.station_id == sid for e in entries) or (
            self.publisher is not None and entries
        ):
            self._wake.set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="station-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread after the request in flight (the log itself is already durable)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.store.unsubscribe(self._on_commit)
        self._client.close()
        self._pool.shutdown(wait=True)
        if isinstance(self._raw, sqlite3.Connection):
            self._raw.close()
        self._raw = False
        self._set(state="stopped", online=False)

    def wake(self) -> None:
        """Sync now (e.g. the user pressed "sync")."""
        self._failures = 0
        self._wake.set()

    def run(self, *, once: bool = False, give_up_after_s: float | None = None) -> bool:
        """Sync until stopped (or, with `once`, until one round succeeds); True when the last round did.

        With `once`, transient failures are retried (with backoff) for at most `give_up_after_s`.
        """
        deadline = None if give_up_after_s is None else time.monotonic() + give_up_after_s
        while not self._stop.is_set():
            self._wake.clear()
            try:
                try:
                    self.sync_once()
                except SyncError:
                    raise
                except Exception as e:  # a local problem (disk full, …): report it, keep the thread
                    log.exception("sync round failed")
                    msg = f"sync failed on this station: {e}"
                    self._set(state="error", last_error=msg)
                    raise SyncError(msg) from e
            except SyncError as e:
                self._failures += 1
                if once and (e.fatal or (deadline is not None and time.monotonic() >= deadline)):
                    return False
                delay = self._backoff(e)
                if deadline is not None:
                    delay = max(0.0, min(delay, deadline - time.monotonic()))
                log.info("sync: %s; retrying in %.1f s", e.message, delay)
                self._stop.wait(delay)
                continue
            self._failures = 0
            if once:
                return True
            maybe_trim()  # a day-long process: give freed memory back (see station.memtrim)
            self._wake.wait(self.poll_s)
            if self._wake.is_set() and not self._stop.is_set():
                # Let a burst of local entries gather into one batch.
                self._stop.wait(0.05)
        return self._status.state == "online"

    def _backoff(self, e: SyncError) -> float:
        if e.fatal:
            return self.backoff_max
        d = min(self.backoff_max, self.backoff_min * (2 ** min(self._failures - 1, 20)))
        return random.uniform(d / 2, d)  # equal jitter: never 0, never synchronized

    # ------------------------------------------------------------------ one round
    def sync_once(self) -> SyncStatus:
        """Publish (if allowed), push everything waiting, pull everything new. Raises `SyncError`."""
        try:
            self._set(state="syncing")
            if self._event is None:
                self._identify()
            self._publish()
            self._push_all()
            if self._pull_all():
                # Peers' entries may change results: publish and push those too.
                if self._publish():
                    self._push_all()
        except SyncError as e:
            self._set(state="offline" if e.offline else "error", online=not e.offline,
                      last_error=e.message, waiting=self._waiting())
            raise
        except httpx.HTTPError as e:  # pragma: no cover - every httpx error is mapped in _request
            msg = f"sync failed: {e}"
            self._set(state="error", last_error=msg)
            raise SyncError(msg) from e
        now = _now_ms()
        self.store.set_state(KEY_LAST_SYNC, str(now))
        conflicts = self._status.conflicts
        note = (f"{len(conflicts)} entries from other stations were refused: same seq as an entry already "
                f"held, different content (a station's database was replaced?) — {conflicts[-1]}"
                if conflicts else None)
        self._set(state="online", online=True, last_error=note, last_sync_ms=now, waiting=self._waiting())
        return self._status

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self._client.request(method, path, **kw)
        except httpx.ConnectError as e:
            raise SyncError(f"cannot reach the ledger at {self.url} (no network or ledger down)",
                            offline=True) from e
        except httpx.TimeoutException as e:
            raise SyncError(f"the ledger at {self.url} did not answer within {self.timeout_s:g} s",
                            offline=True) from e
        except httpx.TransportError as e:
            raise SyncError(f"the connection to the ledger at {self.url} was interrupted",
                            offline=True) from e
        if r.status_code == 200:
            if not self._status.online:
                self._set(online=True)
            try:
                return _loads(r.content)
            except (ValueError, RecursionError) as e:  # RecursionError: JSON nested thousands deep
                raise SyncError(f"the ledger at {self.url} sent an unreadable answer") from e
        try:
            body = r.json()
        except ValueError:
            body = {}
        msg = body.get("error") if isinstance(body, dict) else None
        if r.status_code == 409 and isinstance(body, dict) and body.get("code") == "gap":
            return body  # handled by the pusher
        if r.status_code == 401:
            raise SyncError(f"the ledger refused this station's token: {msg or 'unauthorized'}", fatal=True)
        if r.status_code == 403:
            raise SyncError(f"the ledger refused: {msg or 'forbidden'}", fatal=True)
        if r.status_code == 409:
            raise SyncError(f"CONFLICT — {msg or 'the ledger holds different entries for this station'}",
                            fatal=True)
        if r.status_code == 404:
            raise SyncError(f"the ledger does not know this event: {msg or r.text[:200]}", fatal=True)
        if r.status_code >= 500:
            raise SyncError(f"the ledger had a problem (HTTP {r.status_code}): {msg or 'server error'}")
        raise SyncError(f"the ledger refused the data (HTTP {r.status_code}): {msg or r.text[:200]}",
                        fatal=r.status_code in (400, 413, 422))

    def _identify(self) -> None:
        me = self._request("GET", "/v1/token")
        sid = self.store.station_id
        if me.get("station") != sid:
            raise SyncError(f"this token belongs to station {me.get('station')!r}, but this station is "
                            f"{sid!r}; ask for a token for {sid}", fatal=True)
        event = str(me["event"])
        local = _local_event_id(self.store)
        if local is not None and local != event:
            raise SyncError(f"this token is for event {event!r}, but this station holds event {local!r}",
                            fatal=True)
        target = f"{self.url}|{event}"
        if self.store.get_state(KEY_TARGET) != target:
            # Another ledger or event: start over (push is idempotent, pull de-duplicates).
            self.store.set_state(KEY_ACKED, "0")
            self.store.set_state(KEY_CURSOR, "")
            self.store.set_state(KEY_TARGET, target)
        self._event = event
        can = bool(me.get("publish"))
        if can and self.publisher is None and self.auto_publish:
            from station.sync.publish import Publisher

            self.publisher = Publisher(self.store)
        self._set(event_id=event, can_publish=can)

    def _publish(self) -> int:
        if self.publisher is None or not self._status.can_publish:
            return 0
        n = self.publisher.poll()
        if n:
            self._set(published=self._status.published + n)
        return n

    def _own_raw(self, after: int, limit: int) -> Iterator[tuple[int, str, str, str, int, str]]:
        """Own entries after `after` as (seq, uuid, kind, payload JSON text, recorded_at, operator), at
        most `limit`, one packed row expanded at a time (a batch never exists as entries at once).

        Reads the station file directly (read-only, WAL: never blocks the writer) so the payload text
        goes out as stored, without a parse and re-serialization per entry — the difference between
        meeting and missing 200,000 entries in 20 s. Falls back to the Store API if that fails.
        """
        if self._raw is None:
            try:
                self._raw = sqlite3.connect(f"{self.store.db_path.resolve().as_uri()}?mode=ro", uri=True,
                                            check_same_thread=False, timeout=30)
            except sqlite3.Error:
                self._raw = False
        rows = None
        if isinstance(self._raw, sqlite3.Connection):
            try:
                rows = own_rows_after(self._raw, self.store.station_id, after, limit)
            except sqlite3.Error:
                log.warning("sync: direct read failed; using the store API", exc_info=True)
                self._raw.close()
                self._raw = False
        if rows is None:
            for e in self.store.own_entries_after(after, limit):
                yield e.seq, e.uuid, e.kind, dumps(e.payload), e.recorded_at, e.operator
            return
        sid = self.store.station_id
        for r in rows:
            for x in expand_raw(sid, *r):
                if x[0] > after:
                    if limit <= 0:
                        return
                    limit -= 1
                    yield x

    def _prepare(self, after: int) -> tuple[bytes, int] | None:
        """The next push body after seq `after` and its last seq, or None when nothing waits.

        Written entry by entry into one buffer: a day-long process that built a list of thousands of
        entry strings per batch left its heap fragmented (the soak measures resident memory)."""
        buf = io.StringIO()
        size = 0
        last = after
        js = _json_str
        for seq, uuid, kind, payload, rec, op in self._own_raw(after, self.push_batch):
            s = (f'{{"seq":{seq},"uuid":{js(uuid)},"kind":{js(kind)},"payload":{payload},'
                 f'"recorded_at":{rec},"operator":{js(op or "")}}}')
            if size and size + len(s) > PUSH_MAX_BYTES:
                break
            buf.write("," if size else "[")
            buf.write(s)
            size += len(s) + 1
            last = seq
        if not size:
            return None
        buf.write("]")
        return buf.getvalue().encode("utf-8"), last

    def _push_all(self) -> None:
        acked = int(self.store.get_state(KEY_ACKED, "0") or 0)
        path = f"/v1/events/{self._event}/stations/{self.store.station_id}/entries"
        nxt = self._prepare(acked)
        while nxt is not None and not self._stop.is_set():
            body, last = nxt
            # Build the following batch while the ledger works on this one.
            ahead: Future[tuple[bytes, int] | None] = self._pool.submit(self._prepare, last)
            try:
                ans = self._request("POST", path, content=body,
                                    headers={"Content-Type": "application/json"})
            finally:
                following = ahead.result()
            new = int(ans["acked_seq"])
            if ans.get("code") == "gap":
                # The ledger holds less than we thought (restored from a backup, or a new ledger):
                # resend from where it stands.
                log.warning("sync: the ledger holds seq %d only; resending from there", new)
            self._set(pushed=self._status.pushed + max(0, new - acked))
            acked = new
            self.store.set_state(KEY_ACKED, str(acked))
            self._set(waiting=max(0, self.store.last_seq() - acked))
            nxt = following if new == last else self._prepare(acked)

    def _pull_all(self) -> int:
        stored = 0
        sid = self.store.station_id
        cursor = self.store.get_state(KEY_CURSOR, "") or ""
        path = f"/v1/events/{self._event}/entries"
        while not self._stop.is_set():
            ans = self._request("GET", path, params={"cursor": cursor, "limit": self.pull_limit,
                                                            "exclude_own": "true"})
            try:
                wire = ans["entries"]
                nxt = str(ans["cursor"])
                if not isinstance(wire, list):
                    raise TypeError("entries is not a list")
            except (KeyError, TypeError, ValueError) as e:
                raise SyncError(f"the ledger at {self.url} sent entries this station cannot read") from e
            got, bad = sort_pulled(wire, sid)
            if bad:
                for q in bad:
                    log.warning("sync: a peer entry breaks the entry contract and is set aside: %s", q.reason)
            if got or bad:
                res = self.store.store_foreign(got, bad)
                stored += len(res.stored)
                if res.quarantined:
                    self._set(quarantined=self._status.quarantined + res.quarantined)
                if res.conflicts:
                    for c in res.conflicts:
                        log.error("sync conflict (entry refused): %s", c)
                    self._set(conflicts=(*self._status.conflicts, *res.conflicts)[-100:])
            cursor = nxt
            self.store.set_state(KEY_CURSOR, cursor)
            self._set(pulled=self._status.pulled + (len(res.stored) if got or bad else 0))
            if not ans.get("more"):
                break
        return stored


_json_str = json.JSONEncoder(ensure_ascii=False).encode


def _loads(body: bytes) -> Any:
    """A ledger answer: orjson (3x faster on a 5,000-entry pull), else the standard library, which also
    reads what a peer should never have sent (NaN, a 4,000-digit integer, a lone surrogate) so such an
    entry reaches the contract check and is quarantined instead of failing the whole pull."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def sort_pulled(wire: list[Any], own_station: str) -> tuple[list[Entry], list[Quarantined]]:
    """Pulled wire entries → (entries to store and apply, entries to set aside with the reason).

    Every peer entry passes the entry contract (`station.log.contract.check_wire`) before it may reach the
    results engine or the check-in desk; one that fails is kept exactly as received (quarantined), so a
    malformed entry from a peer — or from a ledger of another version — never crashes this station and
    is never lost. Own entries (the ledger echoing them) are skipped."""
    good: list[Entry] = []
    bad: list[Quarantined] = []
    for d in wire:
        if isinstance(d, dict) and d.get("station_id") == own_station:
            continue
        problem = check_wire(d)
        if problem is None:  # the contract proved every field's type: no conversions needed
            good.append(Entry(d["station_id"], d["seq"], d["uuid"], d["kind"], d["payload"], d["recorded_at"],
                              d.get("operator") or ""))
            continue
        bad.append(Quarantined(d, str(problem)))
    return good, bad


def _local_event_id(store: Store) -> str | None:
    """The event id of the station's latest event configuration, if it has one."""
    from station.log.latest import latest

    cfg = latest(store.entries(kinds=["event_config"]))
    if cfg is None:
        return None
    ev = cfg.payload.get("event")
    return str(ev["id"]) if isinstance(ev, dict) and ev.get("id") else None
