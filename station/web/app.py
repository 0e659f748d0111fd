"""The public results pages: a FastAPI router over a `ResultsSource`, the same on a station and the
ledger.

Server-rendered HTML (phones first, one small inline stylesheet, no framework): a page works with
JavaScript off; with it, a server-sent event stream (`/events/{event}/stream`) says when the board
changed and the page fetches its own fragment again (`?partial=1`) — new finishes, DQs and time
adjustments appear without reloading. All results logic stays in `station.results` and
`station.web.board`; templates only lay out what the board says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from station.web.board import FINISH_MAT, Board, PublicResult
from station.web.i18n import COOKIE, pick_lang, translator
from station.web.sources import ResultsSource

PAGE_SIZE = 100
RENDER_CACHE = 1024  # rendered pages kept (of the current board of each event; per language and address)
STREAM_MAX_S = 600.0  # a live stream ends after this; EventSource reconnects by itself
_env = Environment(loader=PackageLoader("station.web", "templates"), autoescape=select_autoescape(),
                   trim_blocks=True, lstrip_blocks=True)
_css = (Path(__file__).with_name("static") / "style.css").read_text(encoding="utf-8")


class _Versions:
    """Each event's board version, asked of the source at most once per `interval` whatever the
    number of open pages (200 phones on a stream cost one question per interval, not 200)."""

    #: how long a request waits for a fresh answer before it is served the version already known (a
    #: station answers in well under this; the ledger may be rebuilding its board: ~0.1–0.3 s of CPU)
    WAIT_S = 0.05

    def __init__(self, source: ResultsSource, interval: float) -> None:
        self.source = source
        self.interval = interval
        self._cache: dict[str, tuple[float, int]] = {}
        self._asking: dict[str, asyncio.Future[int]] = {}

    async def get(self, event: str) -> int:
        c = self._cache.get(event)
        if c is not None and time.monotonic() - c[0] < self.interval:
            return c[1]
        task = self._asking.get(event)
        if task is None or task.done():  # one question at a time per event, whatever the number of pages
            task = asyncio.ensure_future(self._ask(event))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "never retrieved"
            self._asking[event] = task
        if c is None:
            return await asyncio.shield(task)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.WAIT_S)
        except TimeoutError:
            # The source is slow to answer (the ledger rebuilding its board): serve the board we have
            # rather than hold every request of this process behind the rebuild; the new one follows.
            return c[1]

    async def _ask(self, event: str) -> int:
        v = await run_in_threadpool(self.source.version, event)
        self._cache[event] = (time.monotonic(), v)
        return v


def _lang(request: Request) -> tuple[str, bool]:
    """(language, whether to set the cookie)."""
    q = request.query_params.get("lang")
    lang = pick_lang(q, request.cookies.get(COOKIE), request.headers.get("accept-language"))
    return lang, bool(q) and request.cookies.get(COOKIE) != lang


def _url(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", 0)}
    return path + ("?" + urlencode(clean) if clean else "")


def make_router(source: ResultsSource, *, live_interval: float = 0.25, web_url: str | None = None) -> APIRouter:
    """The pages over `source`. `live_interval`: how often open pages' stream asks for a new version.
    `web_url`: the public base URL for certificate QR codes (default: the URL the request came to)."""
    router = APIRouter()
    versions = _Versions(source, live_interval)
    render = _Renderer()

    async def board_of(event: str) -> Board | None:
        await versions.get(event)  # keeps a polling source (the ledger) current
        return await run_in_threadpool(source.board, event)

    _add_pages(router, source, render, board_of)
    _add_announcer(router, render, board_of)
    _add_certificates(router, source, board_of, web_url)
    _add_live(router, versions, board_of, live_interval)
    return router


_BoardOf = Callable[[str], Awaitable[Board | None]]


class _Renderer:
    """Renders the pages, keeping each event's rendered HTML for its current board version."""

    def __init__(self) -> None:
        self.cache: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self.cached_version: dict[str, int] = {}

    @staticmethod
    def _key(request: Request, template: str, lang: str) -> tuple[Any, ...]:
        return (request.path_params.get("event", ""), template, lang, request.url.path, tuple(sorted(
            (k, v) for k, v in request.query_params.items() if k != "lang")))

    def cached(self, request: Request, template: str, version: int, status: int = 200) -> HTMLResponse | None:
        """The page already rendered for this board version, language and address, else None (a page
        handler asks before working out what to show: cutting a list from 8,000 rows costs too)."""
        event = request.path_params.get("event", "")
        if self.cached_version.get(event) != version:  # pages of an older board are never asked again
            for k in [k for k in self.cache if k[0] == event]:
                del self.cache[k]
            self.cached_version[event] = version
        lang, set_cookie = _lang(request)
        key = self._key(request, template, lang)
        html = self.cache.get(key)
        if html is None:
            return None
        self.cache.move_to_end(key)
        return _respond(html, status, lang, set_cookie)

    def __call__(self, request: Request, template: str, status: int = 200, *, version: int | None = None,
                 **ctx: Any) -> HTMLResponse:
        """Render a page; with `version` (the board's), the HTML is kept for that version, language and
        address — 200 phones asking for the same list cost one rendering per change, not 200."""
        lang, set_cookie = _lang(request)
        key = None
        if version is not None:
            hit = self.cached(request, template, version, status)
            if hit is not None:
                return hit
            key = self._key(request, template, lang)
        t = translator(lang)
        args = {k: v for k, v in request.query_params.items() if k not in ("lang", "partial")}
        ctx.update(t=t, lang=lang, css=_css, path=request.url.path, args=args, url=_url,
                   other_lang="en" if lang == "zh" else "zh", status_label=lambda s: t(f"status_{s}"),
                   display_name=lambda r: r.name if r.public and r.name else t("runner_bib", bib=r.bib))
        if request.query_params.get("partial") == "1" and template in ("event.html", "runner.html",
                                                                        "announcer.html"):
            template = "_" + template  # the live fragment only (what the page swaps in)
        html = _env.get_template(template).render(**ctx)
        if key is not None:
            self.cache[key] = html
            while len(self.cache) > RENDER_CACHE:
                self.cache.popitem(last=False)
        return _respond(html, status, lang, set_cookie)


def _respond(html: str, status: int, lang: str, set_cookie: bool) -> HTMLResponse:
    resp = HTMLResponse(html, status_code=status)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Content-Language"] = "zh-CN" if lang == "zh" else "en"
    resp.headers["Vary"] = "Accept-Language, Cookie"
    if set_cookie:
        resp.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return resp


def _add_pages(router: APIRouter, source: ResultsSource, render: _Renderer, board_of: _BoardOf) -> None:
    """The index, an event's result lists and a runner's page."""
    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        ids = await run_in_threadpool(source.event_ids)
        boards = [b for b in [await board_of(e) for e in ids] if b is not None]
        return render(request, "index.html", boards=boards)

    @router.get("/events/{event}", response_class=HTMLResponse)
    async def event_page(request: Request, event: str, race: str | None = None, view: str = "overall",
                         g: str | None = None, c: str | None = None, q: str = "",
                         start: int = 0) -> Response:
        b = await board_of(event)
        if b is None:
            return render(request, "error.html", 404, message="unknown_event")
        hit = render.cached(request, "event.html", b.version)
        if hit is not None:
            return hit
        rinfo = b.race(race) or next((r for r in b.races if b.finishers(r.id)), None) or (
            b.races[0] if b.races else None)
        rows: list[PublicResult] = []
        genders: list[str] = []
        categories: list[str] = []
        if q.strip():
            rows = b.search(q)
            view = "search"
        elif rinfo is not None:
            genders = b.genders(rinfo.id)
            categories = b.categories(rinfo.id)
            if view == "gender":
                g = g if g in genders else (genders[0] if genders else None)
                rows = b.rows_of(rinfo.id, gender=g)
            elif view == "category":
                c = c if c in categories else (categories[0] if categories else None)
                rows = b.rows_of(rinfo.id, category=c)
            else:
                view = "overall"
                rows = b.rows_of(rinfo.id)
        total = len(rows)
        start = max(0, min(start, max(0, total - 1)))
        page = rows[start:start + PAGE_SIZE]
        return render(request, "event.html", version=b.version, b=b, race=rinfo, view=view, gender=g, category=c, q=q,
                      rows=page, total=total, start=start, page_size=PAGE_SIZE, genders=genders,
                      categories=categories, races={r.id: r for r in b.races})

    @router.get("/events/{event}/runners/{reg}", response_class=HTMLResponse)
    async def runner_page(request: Request, event: str, reg: str) -> Response:
        b = await board_of(event)
        if b is None:
            return render(request, "error.html", 404, message="unknown_event")
        r = b.by_reg.get(reg)
        if r is None:
            return render(request, "error.html", 404, message="unknown_runner", b=b)
        credited = await run_in_threadpool(source.credited, event)
        return render(request, "runner.html", version=b.version, b=b, r=r, race=b.race(r.race), credited=credited,
                      certificate=source.certificates and r.finished and r.public,
                      field=b.field_sizes)


def _add_announcer(router: APIRouter, render: _Renderer, board_of: _BoardOf) -> None:
    @router.get("/events/{event}/announcer", response_class=HTMLResponse)
    async def announcer(request: Request, event: str, mat: str | None = None) -> Response:
        """Runners crossing a chosen mat, newest first, VIPs pinned on top (for the speaker)."""
        b = await board_of(event)
        if b is None:
            return render(request, "error.html", 404, message="unknown_event")
        mats = b.mats()
        ids = [m for m, _ in mats]
        mat = mat if mat in ids else FINISH_MAT
        vips, rows = b.crossings(mat)
        zone = ZoneInfo(b.timezone)

        def clock(ms: int | None) -> str:
            return dt.datetime.fromtimestamp(ms / 1000, zone).strftime("%H:%M:%S") if ms is not None else ""

        return render(request, "announcer.html", version=b.version, b=b, mats=mats, mat=mat, vips=vips, rows=rows, clock=clock,
                      races={r.id: r for r in b.races}, finish_mat=FINISH_MAT)


def _add_certificates(router: APIRouter, source: ResultsSource, board_of: _BoardOf,
                      web_url: str | None) -> None:
    @router.get("/events/{event}/runners/{reg}/certificate.pdf")
    async def certificate(request: Request, event: str, reg: str) -> Response:
        b = await board_of(event)
        r = b.by_reg.get(reg) if b is not None else None
        if b is None or r is None or not r.finished or not r.public or not source.certificates:
            return JSONResponse({"error": "no certificate for this runner"}, status_code=404)
        base = web_url or str(request.base_url)
        credited = await run_in_threadpool(source.credited, event)
        pdf = await run_in_threadpool(_certificate_pdf, b, r, base, credited)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="certificate-{r.bib}.pdf"'})


def _add_live(router: APIRouter, versions: _Versions, board_of: _BoardOf, live_interval: float) -> None:
    """What open pages and other clients poll or stream: the version, the results as JSON, the SSE stream."""
    @router.get("/events/{event}/version.json")
    async def version_json(event: str) -> Response:
        """For clients without server-sent events: poll this small document."""
        if await board_of(event) is None:
            return JSONResponse({"error": f"unknown event {event!r}"}, status_code=404)
        return JSONResponse({"version": await versions.get(event)}, headers={"Cache-Control": "no-cache"})

    json_cache: dict[tuple[str, str | None], tuple[int, bytes]] = {}  # (event, race) → (version, body)

    def encode(b: Board, race: str | None) -> bytes:
        rows = [r.as_json() for r in b.rows if race is None or r.race == race]
        return orjson.dumps({"event": b.event_id, "version": b.version, "official": b.official, "results": rows})

    @router.get("/events/{event}/results.json")
    async def results_json(event: str, race: str | None = None) -> Response:
        """Encoded once per board version and race (10,000 rows: ~50 ms), not once per request."""
        b = await board_of(event)
        if b is None:
            return JSONResponse({"error": f"unknown event {event!r}"}, status_code=404)
        key = (event, race)
        hit = json_cache.get(key)
        if hit is None or hit[0] != b.version:
            if len(json_cache) > 64:  # unknown race ids asked for: never let the cache grow unbounded
                json_cache.clear()
            hit = (b.version, await run_in_threadpool(encode, b, race))
            json_cache[key] = hit
        return Response(hit[1], media_type="application/json", headers={"Cache-Control": "no-cache"})

    @router.get("/events/{event}/stream")
    async def stream(request: Request, event: str) -> Response:
        """Server-sent events: `data: <version>` each time the event's board changes (and once at once)."""
        if await board_of(event) is None:
            return JSONResponse({"error": f"unknown event {event!r}"}, status_code=404)

        async def gen() -> AsyncIterator[bytes]:
            last = None
            quiet = 0.0
            ends = time.monotonic() + STREAM_MAX_S
            yield b"retry: 2000\n\n"
            while time.monotonic() < ends:  # then the browser reconnects: no connection lives forever
                if await request.is_disconnected():
                    return
                v = await versions.get(event)
                if v != last:
                    last = v
                    quiet = 0.0
                    yield f"data: {v}\n\n".encode()
                elif quiet >= 15.0:
                    quiet = 0.0
                    yield b": keep-alive\n\n"  # proxies close silent connections
                await asyncio.sleep(live_interval)
                quiet += live_interval

        return StreamingResponse(gen(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _certificate_pdf(b: Board, r: PublicResult, web_url: str, credited: bool) -> bytes:
    """One finisher certificate, rendered by the station's certificate code from the public board."""
    from station.reports.certificates import render_certificates

    def row(x: PublicResult) -> dict[str, Any]:
        return {"registration_id": x.registration_id, "bib": x.bib, "name": x.name, "race": x.race,
                "gender": x.gender, "category": x.category, "status": x.status,
                "overall_rank": x.overall, "gender_rank": x.gender_rank, "category_rank": x.category_rank,
                "chip_time": x.chip_time, "gun_time": x.gun_time}

    fd, tmp = tempfile.mkstemp(suffix=".pdf")
    os.close(fd)
    try:
        render_certificates(tmp, [row(r)], b.event_payload, all_rows=[row(x) for x in b.rows if x.finished],
                            synced={r.registration_id} if credited else set(), web_url=web_url)
        return Path(tmp).read_bytes()
    finally:
        Path(tmp).unlink(missing_ok=True)


def create_app(source: ResultsSource, **kw: Any) -> FastAPI:
    """A stand-alone app serving only the pages (what `worun-station web` runs)."""
    app = FastAPI(title="WO.RUN results", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(make_router(source, **kw))
    return app
