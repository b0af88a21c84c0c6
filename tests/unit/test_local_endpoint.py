"""The local AWS endpoint keeps HTTP/1.1 connections open (pipeline/local/endpoint.py): clients reuse them,
no request is lost between two on one connection, the requests werkzeug must frame itself still work, and
stopping the endpoint leaves no connection or thread behind."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from pipeline.local.endpoint import KeepAliveMotoServer, connections
from pipeline.local.runtime import free_port

# moto routes a request to SQS by the service named in its signature; it does not check the signature.
SQS_AUTH = (
    b"Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, "
    b"SignedHeaders=host, Signature=x\r\n"
)


@pytest.fixture
def endpoint() -> Iterator[tuple[KeepAliveMotoServer, str]]:
    port = free_port()
    server = KeepAliveMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def test_a_client_reuses_its_connection_across_requests_with_bodies(endpoint):
    server, url = endpoint
    sqs = _client("sqs", url)
    queue = sqs.create_queue(QueueName="keep")["QueueUrl"]

    for i in range(40):  # POSTs with a body, answered with one, back to back on the pooled connection
        sqs.send_message(QueueUrl=queue, MessageBody=f"message {i}")
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]

    accepted, _open = connections(server)
    assert accepted == 1  # with Connection: close this was 42
    assert len(received) == 10


def test_two_requests_sent_at_once_on_one_connection_are_both_answered():
    # The failure mode of a naive keep-alive: werkzeug's drain after the first response reads the second
    # request off the socket and throws it away, and the client waits forever. Sent in one write, the second
    # request is already in the socket when the first response goes out.
    port = free_port()
    server = KeepAliveMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    body = b"Action=ListQueues&Version=2012-11-05"
    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + SQS_AUTH
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request + request)
            data = b""
            deadline = time.monotonic() + 10
            while data.count(b"ListQueuesResponse") < 4 and time.monotonic() < deadline:  # open+close tags
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    finally:
        server.stop()

    assert data.count(b"HTTP/1.1 200") == 2
    assert b"Connection: close" not in data


def test_an_upload_that_asks_to_continue_gets_its_answer_and_keeps_the_connection(endpoint):
    # botocore sends `Expect: 100-continue` with every S3 upload and waits for the 100 before the body.
    server, url = endpoint
    s3 = _client("s3", url)
    s3.create_bucket(Bucket="keep")
    payload = b"x" * (2 * 1024 * 1024)

    s3.put_object(Bucket="keep", Key="big", Body=payload)
    s3.put_object(Bucket="keep", Key="small", Body=b"{}")

    assert s3.get_object(Bucket="keep", Key="big")["Body"].read() == payload
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="keep")["Contents"]] == ["big", "small"]
    assert connections(server)[0] == 1


def test_a_chunked_request_is_answered_on_werkzeugs_own_path_which_closes(endpoint):
    _server, url = endpoint
    port = int(url.rsplit(":", 1)[1])
    body = b"Action=ListQueues&Version=2012-11-05"
    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + SQS_AUTH
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}".encode()
        + b"\r\n"
        + body
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # the server closes: recv ends with b""
            data += chunk

    assert data.startswith(b"HTTP/1.1 200")
    assert b"ListQueuesResponse" in data
    assert b"Connection: close" in data


def test_stopping_the_endpoint_closes_idle_connections_and_ends_their_threads():
    port = free_port()
    server = KeepAliveMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    before = set(threading.enumerate())  # the serving thread is among them: stop() joins it
    clients = [_client("sqs", f"http://127.0.0.1:{port}") for _ in range(3)]
    for c in clients:
        c.list_queues()
    assert connections(server) == (3, 3)  # three idle, kept-alive connections, one thread each
    assert len([t for t in threading.enumerate() if t not in before]) == 3

    server.stop()

    def handler_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive()]

    deadline = time.monotonic() + 5
    while (connections(server)[1] or handler_threads()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connections(server)[1] == 0
    assert handler_threads() == []  # no thread is left waiting on an idle client


def test_request_lines_are_logged_only_when_the_werkzeug_logger_wants_them(endpoint, caplog):
    _server, url = endpoint
    sqs = _client("sqs", url)

    with caplog.at_level(logging.ERROR, logger="werkzeug"):  # what the commands set (runtime.quiet_logs)
        sqs.list_queues()
    quiet = [r for r in caplog.records if r.name == "werkzeug"]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        sqs.list_queues()

    assert quiet == []
    assert any('"POST / HTTP/1.1" 200' in r.getMessage() for r in caplog.records if r.name == "werkzeug")
