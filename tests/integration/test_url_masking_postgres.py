"""`tms report` and `tms cost` name the warehouse they read without ever printing its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_spark import postgres_url  # noqa: F401

pytestmark = [pytest.mark.postgres]

SECRET = "s3cret-Pa55"


def _with_password(url: str) -> str:
    # The throwaway server trusts every local connection, so any password connects.
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")


def test_tms_report_and_tms_cost_never_print_the_warehouse_password(
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tools.cli import main

    url = _with_password(postgres_url)
    out = tmp_path / "report.html"

    assert main(["report", "--out", str(out), "--warehouse-url", url]) == 0
    html = out.read_text()
    assert SECRET not in html and "postgres:***@" in html

    from tools.analytics.warehouse import open_warehouse

    warehouse = open_warehouse(url)
    try:
        assert SECRET not in warehouse.url and "postgres:***@" in warehouse.url  # what the cost source names
    finally:
        warehouse.close()
    main(
        ["cost", "--from", "warehouse", "--warehouse-url", url, "--json"]
    )  # priced or "no usage": either way
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
