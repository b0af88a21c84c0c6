"""The local stack remembers how moto routes a request; the routes themselves are moto's, unchanged."""

from __future__ import annotations

import inspect

import pytest

from local.moto import patching, speed

HOSTS = [
    None,
    "moto_api",
    "dynamodb.us-east-1.amazonaws.com",
    "streams.dynamodb.us-east-1.amazonaws.com",
    "kinesis.us-east-1.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "tms-tickets-archive.s3.amazonaws.com",
    "states.us-east-1.amazonaws.com",
    "lambda.us-east-1.amazonaws.com",
    "scheduler.eu-west-1.amazonaws.com",
    "comprehend.us-east-1.amazonaws.com",
    "email.us-east-1.amazonaws.com",
    "sqs",
]


@pytest.fixture(scope="module")
def dispatcher():
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # On for these tests whatever TMS_LOCAL_SPEED_PATCHES, and as they were after them.
    with patching.applied(speed.CACHE_BACKEND_LOOKUP), patching.applied(speed.CACHE_ACTION_NAMES):
        yield DomainDispatcherApplication(create_backend_app)


@pytest.mark.parametrize("host", HOSTS)
def test_a_remembered_route_is_the_one_moto_computes(dispatcher, host):
    computed = type(dispatcher).get_backend_for_host.__wrapped__(dispatcher, host)
    assert dispatcher.get_backend_for_host(host) == computed
    assert dispatcher.get_backend_for_host(host) == computed  # and again, from memory


def test_action_names_are_the_handler_classes_methods(dispatcher):  # the fixture installs the patch
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.kinesis.responses import KinesisResponse

    for clazz, action in ((DynamoHandler, "query"), (KinesisResponse, "get_records")):
        names = responses.method_names_from_class(clazz)
        assert set(names) == {name for name, _ in inspect.getmembers(clazz, inspect.isfunction)}
        assert action in names and "not_an_action" not in names
