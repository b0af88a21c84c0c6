"""Connection strings are shown and logged without their password (contract.settings.masked_url)."""

from __future__ import annotations

import pytest

from contract.settings import masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("postgres://u:secret@h:5432/db?sslmode=require", "postgres://u:***@h:5432/db?sslmode=require"),
        ("postgresql://u:p@ss:w0rd@h/db", "postgresql://u:***@h/db"),  # an unescaped @ in the password
        ("postgresql://:secret@h/db", "postgresql://:***@h/db"),
        (
            "postgresql://u@h/db?password=secret&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        ("host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"),
        ("host=h password='se cret' dbname=d", "host=h password=*** dbname=d"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("duckdb:///var/tms/warehouse.duckdb", "duckdb:///var/tms/warehouse.duckdb"),
    ],
)
def test_the_password_of_a_connection_string_is_masked_and_the_rest_kept(url: str, shown: str):
    assert masked_url(url) == shown
    assert "secret" not in masked_url(url) and "w0rd" not in masked_url(url)


def test_a_postgres_warehouse_shows_its_url_without_the_password(monkeypatch: pytest.MonkeyPatch):
    import psycopg

    from tools.analytics.warehouse import PostgresWarehouse

    dsns: list[str] = []
    monkeypatch.setattr(psycopg, "connect", lambda dsn, **_: dsns.append(dsn))

    warehouse = PostgresWarehouse("postgresql://u:secret@h/db")

    assert dsns == ["postgresql://u:secret@h/db"]  # the connection still gets the password
    assert warehouse.url == "postgresql://u:***@h/db"
