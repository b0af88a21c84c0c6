"""The Redshift Data adapter of erasure: parameterised DELETEs (lifecycle rows first), waited for, counted."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bot.adapters.erasure import RedshiftDataRows
from bot.errors import ErasureError

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tms/redshift-AbCdEf"


def _rows(client: object) -> RedshiftDataRows:
    return RedshiftDataRows(
        client,
        database="dev",
        secret_arn=SECRET,
        schema="support",
        table="tickets",
        cluster_identifier="tms-warehouse",
        sleep=lambda _s: None,
    )


def test_the_warehouse_rows_are_deleted_by_bound_parameters_lifecycle_first() -> None:
    client = boto3.client(
        "redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    params = [
        {"name": "email", "value": "ada@example.com"},
        {"name": "id0", "value": "TKT-20260101-AAAAAAAAAA"},
    ]
    with Stubber(client) as stub:
        for sid, rows in (("s1", 1), ("s2", 2)):
            stub.add_response(
                "execute_statement",
                {"Id": sid},
                {
                    "Sql": ANY,
                    "Parameters": params,
                    "Database": "dev",
                    "SecretArn": SECRET,
                    "ClusterIdentifier": "tms-warehouse",
                },
            )
            stub.add_response("describe_statement", {"Id": sid, "Status": "STARTED"}, {"Id": sid})
            stub.add_response(
                "describe_statement", {"Id": sid, "Status": "FINISHED", "ResultRows": rows}, {"Id": sid}
            )

        counts = _rows(client).erase_customer("ada@example.com", frozenset({"TKT-20260101-AAAAAAAAAA"}))

    assert counts == {"warehouse:ticket_lifecycle": 1, "warehouse:tickets": 2}
    (lifecycle, _), (tickets, _) = [(sql, s) for s, sql in _rows(client).statements(frozenset({"T"}))]
    assert lifecycle.startswith("DELETE FROM support.ticket_lifecycle") and ":email" in lifecycle
    assert "ada@" not in lifecycle + tickets  # nothing spliced in


def test_a_failed_statement_is_an_erasure_error() -> None:
    client = boto3.client(
        "redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_response("execute_statement", {"Id": "s1"})
        stub.add_response(
            "describe_statement", {"Id": "s1", "Status": "FAILED", "Error": "permission denied"}
        )
        with pytest.raises(ErasureError, match="permission denied"):
            _rows(client).erase_customer("ada@example.com", frozenset())
