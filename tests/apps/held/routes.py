"""An app's request handlers, as plain coroutines standing in for FastAPI routes: one holds its transaction
across a slow external call, one never closes its session. tests/test_held.py runs them on a real server."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def slow_external_call(seconds: float) -> None:
    await asyncio.sleep(seconds)  # an LLM or HTTP API


async def summarise(sessions: Any, seconds: float = 3.0) -> Any:
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT 1"))  # the session takes its connection here
        await slow_external_call(seconds)
        return (await session.execute(text("SELECT 2"))).scalar()


async def report(sessions: Any) -> Any:
    session: AsyncSession = sessions()
    return (await session.execute(text("SELECT 3"))).scalar()  # never closed: the connection leaks
