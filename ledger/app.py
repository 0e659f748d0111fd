"""The ledger's HTTP application (FastAPI), built by `create_app(db_url)`.

Handlers read the raw body themselves (with a size cap) and validate it by hand: a 200,000-entry push
must not pay for a model object per entry, and a refusal must name the entry and field at fault.
Blocking database work runs in the thread pool so the event loop keeps answering.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger import points as points_mod
from ledger import streams
from ledger.auth import Grant, check_token
from ledger.db import Database, open_database
from ledger.streams import LedgerError
from station.log import contract

log = logging.getLogger(__name__)

ENV_DB = "WORUN_LEDGER_DB"


def _err(e: LedgerError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
    return JSONResponse(e.body(), status_code=e.status, headers=headers)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise LedgerError(400, "bad Content-Length header", "malformed") from None
        if n > streams.MAX_BODY_BYTES:
            raise LedgerError(413, f"batch too large: {n} bytes (limit {streams.MAX_BODY_BYTES})",
                              "too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > streams.MAX_BODY_BYTES:
            raise LedgerError(413, f"batch too large: more than {streams.MAX_BODY_BYTES} bytes",
                              "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _wall_clock() -> int:
    return time.time_ns() // 1_000_000


def create_app(db: Database | str, *, clock: Callable[[], int] | None = None) -> FastAPI:
    """The ASGI app on a database (a `Database` or a URL; the schema is created when missing).
    `clock` gives the ledger's time in UTC ms (default the wall clock; tests pin it)."""
    from station.memtrim import start_background

    start_background()  # a server runs for days: give freed memory back (see station.memtrim)
    database = open_database(db) if isinstance(db, str) else db
    # The OpenAPI document is served (tests/ledger/test_schema_fuzz.py runs schemathesis on it); no docs UIs.
    app = FastAPI(title="WO.RUN ledger", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/v1/openapi.json")
    app.state.db = database
    _add_error_handlers(app)
    _add_sync_routes(app, database, clock or _wall_clock)
    _add_points_routes(app, database)

    # The public results pages (`station.web`) over the results published here.
    from ledger.web import LedgerSource
    from station.web.app import make_router

    app.include_router(make_router(LedgerSource(database), live_interval=1.0))
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Refusals, malformed requests and a busy database as JSON `{"error", "code"}`."""
    @app.exception_handler(LedgerError)
    async def _ledger_error(_request: Request, e: LedgerError) -> JSONResponse:
        return _err(e)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, e: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg')}"
                          for err in e.errors())
        return JSONResponse({"error": f"bad request ({where})", "code": "malformed"}, status_code=422)

    @app.exception_handler(sa.exc.OperationalError)
    async def _db_busy(_request: Request, e: sa.exc.OperationalError) -> JSONResponse:
        # Deadlock victim, lost connection, locked SQLite file: nothing was committed; retry later.
        log.warning("database error: %s", e.orig)
        return JSONResponse({"error": "the ledger database is busy or unavailable; retry later",
                             "code": "unavailable"}, status_code=503, headers={"Retry-After": "1"})


async def _grant_of(database: Database, request: Request) -> Grant:
    """The grant of the request's bearer token; raises LedgerError 401 without a valid one."""
    h = request.headers.get("authorization", "")
    scheme, _, token = h.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LedgerError(401, "missing bearer token (Authorization: Bearer <station token>)",
                          "unauthorized")
    g = await run_in_threadpool(check_token, database, token.strip())
    if g is None:
        raise LedgerError(401, "unknown or revoked token", "unauthorized")
    return g


def _for_event(g: Grant, event: str) -> None:
    if g.event_id != event:
        raise LedgerError(403, f"this token is for event {g.event_id!r}, not {event!r}", "forbidden")


_ENTRY_DOC = {
    "type": "object", "required": ["seq", "uuid", "kind", "payload", "recorded_at"],
    "properties": {"seq": {"type": "integer", "minimum": 1}, "uuid": {"type": "string"},
                   "kind": {"type": "string"}, "payload": {"type": "object"},
                   "recorded_at": {"type": "integer", "minimum": 0}, "operator": {"type": "string"}},
}
# The push body, documented by hand (the handler reads it itself: see the module docstring).
_PUSH_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    {"type": "array", "items": _ENTRY_DOC},
    {"type": "object", "required": ["entries"], "properties": {"entries": {"type": "array", "items": _ENTRY_DOC}}},
]}}}}}


def _add_sync_routes(app: FastAPI, database: Database, clock: Callable[[], int]) -> None:
    """Health, the token's grant, and the entry streams stations push to and pull from."""
    @app.get("/v1/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/v1/token")
    async def whoami(request: Request) -> dict[str, Any]:
        g = await _grant_of(database, request)
        return {"event": g.event_id, "station": g.station_id, "publish": g.publish, "role": g.role}

    @app.post("/v1/events/{event}/stations/{station}/entries", openapi_extra=_PUSH_DOC)
    async def push(event: str, station: str, request: Request) -> Response:
        g = await _grant_of(database, request)
        _for_event(g, event)
        if g.station_id != station:
            raise LedgerError(403, f"this token writes only station {g.station_id!r}, not {station!r}",
                              "forbidden")
        body = await _read_body(request)
        batch = await run_in_threadpool(streams.parse_batch, body, station, g.role)
        acked = await run_in_threadpool(streams.push, database, event, station, batch, g.role, clock())
        return JSONResponse({"acked_seq": acked})

    @app.get("/v1/events/{event}/entries")
    async def pull(event: str, request: Request, cursor: str = "", limit: int = 5000,
                   exclude_own: bool = False) -> Response:
        g = await _grant_of(database, request)
        _for_event(g, event)
        text, more, nxt = await run_in_threadpool(streams.pull, database, event, cursor, limit,
                                                  g.station_id if exclude_own else None)
        body = f'{{"entries":{text},"cursor":"{nxt}","more":{"true" if more else "false"}}}'
        return Response(body.encode("utf-8"), media_type="application/json")


def _add_points_routes(app: FastAPI, database: Database) -> None:
    """Finished results of an event and a runner's points balance."""
    @app.get("/v1/events/{event}/results")
    async def results(event: str, request: Request) -> dict[str, Any]:
        g = await _grant_of(database, request)
        _for_event(g, event)
        rows = await run_in_threadpool(points_mod.finished_results, database, event)
        return {"results": rows}

    @app.get("/v1/runners/{runner}/points")
    async def runner_points(runner: str, request: Request, event: str | None = None) -> dict[str, Any]:
        """A runner id's account, or with `?event=E` the registration `runner` of event E (a runner
        without a runner id: registration R001 of two events are two accounts). Readable with a token of
        an event the account belongs to (`points.may_read`)."""
        g = await _grant_of(database, request)
        for name, value in (("runner id", runner), ("event", event)):
            why = contract.ID(value) if value is not None else None
            if why:  # NUL, lone surrogates, 300 characters: refused before the database sees them
                raise LedgerError(422, f"{name}: {why}", "malformed")
        account = (event or "", runner)
        if not await run_in_threadpool(points_mod.may_read, database, g.event_id, account):
            what = (f"registration {runner!r} of event {event!r}" if event else
                    f"runner {runner!r}, who is not in the participant list of event {g.event_id!r}")
            hint = ""
            if not event and await run_in_threadpool(points_mod.listed_runner, database, g.event_id,
                                                     runner) == "":
                hint = (f" (a registration without a runner id has an account per event: "
                        f"/v1/runners/{runner}/points?event={g.event_id})")
            raise LedgerError(403, f"this token (event {g.event_id!r}) may not read the points of {what}{hint}",
                              "forbidden")
        return await run_in_threadpool(points_mod.balance, database, account)


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: the database URL comes from the env."""
    return create_app(os.environ.get(ENV_DB) or "sqlite:///ledger.sqlite3")
