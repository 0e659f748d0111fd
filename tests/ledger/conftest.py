"""Fixtures for the ledger and sync tests: a real ledger (uvicorn) on a free loopback port, on SQLite
and on PostgreSQL (`WORUN_TEST_PG_URL`, from scripts/postgres.sh), and real station stores.

Without `WORUN_TEST_PG_URL` the PostgreSQL variants skip — except with `CI=true`, where they fail: CI
must exercise the production database path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_testkit import Ledger

from station.log.store import Store


def _pg_url() -> str | None:
    url = os.environ.get("WORUN_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("WORUN_TEST_PG_URL is not set: CI must run the PostgreSQL tests (scripts/postgres.sh)")
    pytest.skip("WORUN_TEST_PG_URL not set (source scripts/postgres.sh)")
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL: a SQLite file, or a private schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'ledger.sqlite3').as_posix()}"
        return
    base = _pg_url()
    assert base is not None
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base)
    try:
        with admin.begin() as c:
            c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at WORUN_TEST_PG_URL unreachable: {e.orig}")
        pytest.skip(f"PostgreSQL unreachable: {e.orig}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def ledger(db_url: str, tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(db_url, tmp_path)
    yield led
    led.close()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(f"sqlite:///{(tmp_path / 'ledger.sqlite3').as_posix()}", tmp_path)
    yield led
    led.close()


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[Any]:
    """`stations("finish")` → a Store in its own folder with that station id; closed at the end."""
    opened: list[Store] = []

    def make(name: str, folder: str | None = None) -> Store:
        s = Store(tmp_path / (folder or name), station_id=name)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
