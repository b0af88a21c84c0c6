"""The operation -> IAM action map: a call it does not know is refused with a message saying what to add."""

from __future__ import annotations

import pytest

from local.iam_record import Call
from tools.iam.actions import ACTIONS
from tools.iam.sufficiency import UnmappedOperationError, needs


def test_an_unmapped_operation_names_the_principal_the_call_and_the_map() -> None:
    call = Call("function:tms-archive", "s3", "PutBucketPolicy", ("arn:aws:s3:::tms-tickets-archive",))
    with pytest.raises(
        UnmappedOperationError, match=r"function:tms-archive called s3:PutBucketPolicy.*actions\.py"
    ):
        needs(call, {})


def test_a_mapped_call_needs_its_actions_on_its_resources_and_the_key_of_its_resource() -> None:
    obj = "arn:aws:s3:::tms-tickets-archive/originals/TKT-1.json"
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    call = Call("function:tms-archive", "s3", "PutObject", (obj,))
    got = {(n.action, n.resource) for n in needs(call, {"arn:aws:s3:::tms-tickets-archive/originals/*": key})}
    assert ("s3:PutObject", obj) in got
    assert any(action.startswith("kms:") and resource == key for action, resource in got)
    assert ("s3", "PutObject") in ACTIONS
