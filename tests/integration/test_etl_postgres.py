"""The local ETL end to end into PostgreSQL (a throwaway server): same scenario as DuckDB."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_spark import postgres_url, run_scenario, spark  # noqa: F401

pytestmark = [pytest.mark.spark, pytest.mark.postgres]


def test_archive_loads_each_ticket_once_into_postgres_and_reruns_load_nothing(
    spark: Any,  # noqa: F811
    postgres_url: str,  # noqa: F811
) -> None:
    run_scenario(postgres_url)


def test_lifecycle_records_load_into_postgres_and_feed_the_sla_view(
    spark: Any,  # noqa: F811
    postgres_url: str,  # noqa: F811
) -> None:
    from tests.fixtures_spark import run_lifecycle_scenario

    run_lifecycle_scenario(postgres_url)
