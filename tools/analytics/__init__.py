"""Analytics: the tickets ETL (glue/ on local Spark) into the local warehouse, and the HTML report."""

from __future__ import annotations

from tools.analytics.runner import EtlResult, run_etl, warehouse_counts

__all__ = ["EtlResult", "run_etl", "warehouse_counts"]
