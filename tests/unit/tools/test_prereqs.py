"""`make demo` checks its prerequisites first, and the analytics step never hides the reconciliation."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from tools import demo, prereqs
from tools.cli import local as local_cli


def fake_java(tmp_path: Path, banner: str) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return home


@pytest.mark.parametrize("version", [(3, 11), (3, 12), (3, 13)])
def test_supported_pythons_pass(version):
    assert prereqs.python_problem(version) is None


@pytest.mark.parametrize("version", [(3, 10), (3, 14)])
def test_other_pythons_are_named_with_what_to_do(version):
    problem = prereqs.python_problem(version)
    assert problem and "3.11 to 3.13" in problem and "PYTHON=" in problem


def test_no_java_is_one_line_saying_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing-here"))
    problem = prereqs.java_problem()
    assert problem and "\n" not in problem
    assert "openjdk-17-jre-headless" in problem and "--no-etl" in problem


@pytest.mark.parametrize(
    ("banner", "ok"),
    [
        ('openjdk version "17.0.9" 2023-10-17', True),
        ('java version "1.8.0_392"', True),
        ('java version "1.7.0_80"', False),
    ],
)
def test_the_java_version_is_read_from_java_itself(monkeypatch, tmp_path, banner, ok):
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, banner)))
    assert (prereqs.java_problem() is None) is ok


def test_make_demo_prerequisites_exit_2_naming_each_gap(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing-here"))
    assert prereqs.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("make demo: the analytics step (local Spark) needs Java")


def _report() -> demo.DemoReport:
    report = demo.DemoReport(submitted=3, records_sent=3, processed=3, dynamodb_items=3, s3_objects=3)
    report.notifications = 3
    report.latency_ms = {"p50": 1.0, "p95": 2.0, "p99": 3.0}
    return report


def test_without_java_the_reconciliation_is_printed_then_one_line_and_the_command_fails(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing-here"))
    report = _report()
    demo.load_warehouse(report, info=None)  # type: ignore[arg-type]  # never reached: no Java
    text = demo.render_table(report)
    assert "processed (TRIAGED)" in text and "OK: every ticket triaged" in text
    assert text.splitlines()[-1].startswith(
        "ANALYTICS NOT LOADED: the analytics step (local Spark) needs Java"
    )
    monkeypatch.setattr("tools.demo.run_local_demo", lambda **_: report)
    args = argparse.Namespace(tickets=3, seed=1, redeliver=0.0, timeout=10.0, no_etl=False, json=False, kb=[])
    assert local_cli.cmd_demo(args) == 1


def test_a_failing_analytics_step_is_one_line_under_the_counts(monkeypatch):
    def boom(info):
        raise RuntimeError("[JAVA_GATEWAY_EXITED] Java gateway process exited\nlong trace\nmore")

    monkeypatch.setattr(prereqs, "java_problem", lambda: None)
    monkeypatch.setattr("tools.analytics.run_etl", boom)
    report = _report()
    demo.load_warehouse(report, info=None)  # type: ignore[arg-type]
    assert report.extra["analytics_error"] == (
        "the analytics step failed: RuntimeError: [JAVA_GATEWAY_EXITED] Java gateway process exited"
    )
    assert "long trace" not in demo.render_table(report)
