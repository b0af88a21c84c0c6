"""The Glue entry resolves its configuration safely (the job itself only runs on Glue)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from glue import job


def test_target_table_and_staging_follow_the_configured_table_name():
    spec = job.target_spec({"redshift_table": "support_tickets"})
    assert (spec.table, spec.staging_table) == ("support_tickets", "support_tickets_staging")
    assert job.target_spec({}).table == "tickets"


@pytest.mark.parametrize("bad", ["tickets; DROP TABLE x", "a.b", "1abc", ""])
def test_a_table_name_that_is_not_a_plain_identifier_is_refused(bad: str):
    with pytest.raises(ValueError, match="redshift_table"):
        job.target_spec({"redshift_table": bad} if bad else {"redshift_table": " "})


def test_preactions_set_the_schema_so_the_merge_text_stays_unqualified():
    sql = job._preactions("tickets", "tickets_staging", "support")
    assert sql.startswith("SET search_path TO support;")


def test_schema_json_loads_from_a_zipped_glue_package(tmp_path: Path):
    # Glue ships glue/ as --extra-py-files: the schema must load from inside the zip.
    import subprocess
    import sys

    root = Path(job.__file__).resolve().parent
    archive = tmp_path / "glue.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("__init__.py", "schema.py", "schema.json", "lifecycle_schema.json"):
            zf.write(root / name, f"glue/{name}")
    code = "from glue.schema import lifecycle_spec, spec; print(spec().table, lifecycle_spec().table)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(archive)},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "tickets ticket_lifecycle"


def test_the_lifecycle_load_is_optional_and_parsed_like_the_other_arguments():
    argv = ["job.py", "--JOB_NAME", "j", "--lifecycle_path", "s3://b/lifecycle/"]
    assert job._parse_args(argv, ["JOB_NAME", "lifecycle_path"])["lifecycle_path"] == "s3://b/lifecycle/"
    assert "lifecycle_path" in job.OPTIONAL_ARGS and "lifecycle_path" not in job.REQUIRED_ARGS
