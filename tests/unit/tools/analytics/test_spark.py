"""The local ETL twin's Spark starts without printing its start-up chatter into a command's output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.spark


def test_a_local_spark_session_starts_without_warnings_on_the_terminal():
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_SUBMIT_ARGS", "SPARK_LOCAL_IP")}
    code = "from tools.analytics.spark import get_spark; print(get_spark().range(3).count())"

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)

    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"
    # Spark's default profile printed "Setting default log level", a loopback-address warning and the
    # native Hadoop library warning here, between the lines of `tms demo`'s summary.
    assert out.stderr == ""
