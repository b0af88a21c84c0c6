"""The local SparkSession: `local[2]`, UTC, quiet (Spark logs to stderr, never to stdout)."""

from __future__ import annotations

import os
import shlex
import sys
from functools import cache
from pathlib import Path
from typing import Any

from contract import names

SPARK_MASTER_ENV = "TMS_SPARK_MASTER"
LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")


@cache
def get_spark() -> Any:
    """One SparkSession per process, configured like the Glue 5 job (Spark 3.5, UTC)."""
    # Spark's launcher prints its own banner before log4j is configured; keep it off stdout. Its logging
    # comes from log4j2.properties beside this file (quiet start-up; ERROR once setLogLevel below runs);
    # the driver binds to the loopback address, as a local run should (else Spark warns that the host
    # name resolves to it).
    # TMS_SPARK_JAVA_OPTIONS adds to the driver's JVM options: the test suite (tests/conftest.py) runs its
    # Spark with the quick compiler only, which spent a third less JVM CPU on its loads of a few dozen rows
    # (docs/measurements/2026-12-07e-suite-time.md).
    java_options = [f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}"]
    java_options += shlex.split(os.environ.get(names.ENV_SPARK_JAVA_OPTIONS, ""))
    driver_options = shlex.quote(" ".join(java_options))
    os.environ.setdefault(
        "PYSPARK_SUBMIT_ARGS",
        f"--conf spark.ui.showConsoleProgress=false --driver-java-options {driver_options} pyspark-shell",
    )
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python UDF workers run this interpreter: left to itself Spark starts `python3` from PATH, and a tms
    # running on another minor version (3.13 where python3 is 3.11) fails with PYTHON_VERSION_MISMATCH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from glue.transforms import SPARK_CONF

    builder = SparkSession.builder
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = (
        builder.master(os.environ.get(SPARK_MASTER_ENV, "local[2]"))
        .appName("tms-etl")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
