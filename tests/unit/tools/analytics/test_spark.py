"""The local ETL twin's Spark starts without printing its start-up chatter into a command's output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contract import names

pytestmark = pytest.mark.spark


def test_a_local_spark_session_starts_without_warnings_on_the_terminal_and_takes_the_java_options_given():
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_SUBMIT_ARGS", "SPARK_LOCAL_IP")}
    env[names.ENV_SPARK_JAVA_OPTIONS] = "-XX:TieredStopAtLevel=1 -Dtms.test=yes"
    code = (
        "from tools.analytics.spark import get_spark; spark = get_spark(); print(spark.range(3).count()); "
        "print(sorted(spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()"
        ".getInputArguments()))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)

    assert out.returncode == 0, out.stderr
    count, jvm_arguments = out.stdout.splitlines()
    assert count == "3"
    # the driver's JVM runs with the options of TMS_SPARK_JAVA_OPTIONS, the log4j configuration kept
    assert "-XX:TieredStopAtLevel=1" in jvm_arguments and "-Dtms.test=yes" in jvm_arguments
    assert "-Dlog4j2.configurationFile=" in jvm_arguments
    # Spark's default profile printed "Setting default log level", a loopback-address warning and the
    # native Hadoop library warning here, between the lines of `tms demo`'s summary.
    assert out.stderr == ""
