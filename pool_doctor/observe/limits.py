"""Each group's closing limits, read the way `check --role` reads them: pg_db_role_setting applied in
PostgreSQL's order over the server's own values (inspect.server.facts_from_row does the resolving; this only
hands it one role and database at a time from LIMITS_QUERY's rows). Pure: tested without a server."""

from __future__ import annotations

from typing import Any

from pool_doctor.inspect.server import SERVER_SOURCES, facts_from_row
from pool_doctor.model import ServerFacts
from pool_doctor.observe.model import CLOSING_LIMITS, Limit


class GroupLimits:
    """Limits per (role, database), resolved once each and kept."""

    def __init__(self, data: dict[str, Any], file_settings: dict[str, dict[str, Any]] | None = None) -> None:
        self.data = data
        self.file_settings = file_settings
        self._known: dict[tuple[str, str], tuple[tuple[Limit, ...], tuple[str, ...]]] = {}

    def hidden_names(self) -> list[str]:
        """Settings whose server-wide value the observing session's own override hides (superusers read the files)."""
        return [row["name"] for row in self.data.get("settings") or [] if row["source"] not in SERVER_SOURCES]

    def server(self, role: str, database: str) -> ServerFacts:
        data = self.data
        connected_as = data["connected_as"]
        if connected_as == role and database != data["database"]:
            # The observer's pg_settings hold its own database's levels: resolve from the catalogue instead.
            connected_as = f"{connected_as} (in database {data['database']})"
        rows = [
            {"role": row["role"] is not None, "database": row["database"] is not None, "config": row["config"]}
            for row in data.get("role_settings") or []
            if row["role"] in (None, role) and row["database"] in (None, database)
        ]
        connlimit = (data.get("role_connlimits") or {}).get(role, -1)
        row = {
            **data,
            "connected_as": connected_as,
            "role": {"name": role, "connlimit": connlimit, "superuser": False},
            "database": database,
            "database_connlimit": (data.get("database_connlimits") or {}).get(database),
            "overrides": rows,
            "activity": [],
            "read_all_stats": True,  # observe says what it cannot see itself
        }
        return facts_from_row(row, startup_pid=None, file_settings=self.file_settings)

    def for_group(self, role: str, database: str) -> tuple[tuple[Limit, ...], tuple[str, ...]]:
        """The closing limits this role meets in this database (0 = off left out), and what could not be seen."""
        key = (role, database)
        if key not in self._known:
            server = self.server(role, database)
            found = [Limit.of(server.setting(name)) for name in CLOSING_LIMITS]
            self._known[key] = (tuple(limit for limit in found if limit is not None), tuple(server.limitations))
        return self._known[key]
