"""FastAPI-shaped session handling, right and wrong, for `pool-doctor scan` (read, never imported: FastAPI is
not installed here). Each line the scan must flag says so in a comment; the rest must stay unflagged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql+psycopg://app@db.internal/app", pool_pre_ping=True, pool_recycle=300)
SessionLocal = sessionmaker(engine)
app = FastAPI()
llm = AsyncOpenAI()


def get_db_bare() -> Iterator[Session]:
    db = SessionLocal()
    yield db  # flagged: session-dependency-without-finally
    db.close()


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@app.get("/export")
def export(db: Session = Depends(get_db)) -> StreamingResponse:  # flagged: streaming-response-holds-session
    rows = db.execute(text("SELECT 1"))
    return StreamingResponse(iter(str(row) for row in rows))


@app.get("/rows")
def rows(db: Session = Depends(get_db)) -> list[int]:
    return [row[0] for row in db.execute(text("SELECT 1"))]


async def summarise(session: object) -> str:
    async with session.begin():  # type: ignore[attr-defined]
        await session.execute(text("SELECT 1"))  # type: ignore[attr-defined]
        reply = await llm.chat.completions.create(model="m", messages=[])  # flagged: transaction-spans-external-call
    return str(reply)


async def summarise_first(session: object) -> str:
    reply = await llm.chat.completions.create(model="m", messages=[])
    async with session.begin():  # type: ignore[attr-defined]
        await session.execute(text("SELECT 1"))  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as client:
        await client.get("https://example.invalid")
    return str(reply)


def count() -> int:
    conn = engine.connect()  # flagged: connection-never-released
    return int(conn.execute(text("SELECT 1")).scalar() or 0)


def count_closed() -> int:
    conn = engine.connect()
    try:
        return int(conn.execute(text("SELECT 1")).scalar() or 0)
    finally:
        conn.close()


async def fetch(pool: object) -> AsyncIterator[int]:
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        yield await conn.fetchval("SELECT 1")


SyncLocal = sessionmaker(engine)  # a factory by any name makes sessions


def get_db_any_name() -> Iterator[Session]:
    db = SyncLocal()
    yield db  # flagged: session-dependency-without-finally
    db.close()


def get_db_except_else() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    except Exception:  # closed when the route raises, as a finally would
        db.rollback()
        db.close()
        raise
    else:
        db.close()
