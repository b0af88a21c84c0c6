"""The local endpoint parses each ASL and JSONPath text once; the parses are moto's own."""

from __future__ import annotations

import json
import re

import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path

from local.moto import patching, speed
from tests.paths import REPO_ROOT

ASL = REPO_ROOT / "pipeline" / "statemachine" / "ticket_pipeline.asl.json"
TICKET = {
    "ticket": {"ticketId": "TKT-1", "data": {"subject": "s", "tags": ["a", "b"]}},
    "sentiment": {"x": 1},
}


@pytest.fixture(scope="module")
def cached():
    # On for these tests whatever TMS_LOCAL_SPEED_PATCHES, and as they were after them.
    with patching.applied(speed.CACHE_EXECUTOR_PARSING):
        yield


def _own(target: str):
    """moto's own function behind `target` (a staticmethod is unwrapped)."""
    value = patching.moto_value(target)
    return value.__func__ if isinstance(value, staticmethod) else value


def test_the_pipeline_asl_parses_once_into_moto_s_own_tree(cached):
    definition = ASL.read_text()

    program, tree = AmazonStateLanguageParser.parse(definition)

    assert AmazonStateLanguageParser.parse(definition)[0] is program  # remembered, not parsed again
    own_program, own_tree = _own(speed._ASL_PARSE)(definition)
    assert own_tree.toStringTree() == tree.toStringTree()
    assert type(own_program) is type(program)


def test_every_path_of_the_pipeline_parses_and_extracts_as_moto_does(cached):
    paths = sorted(set(re.findall(r'"(\$\.[^"]*)"', ASL.read_text())) | {"$.ticket.data.tags[1]", "$"})
    own_parse = _own(speed._JSON_PATH_PARSE)
    for path in paths:
        assert json_path.parse(path) == own_parse(path), path
        assert json_path.parse(path) is json_path.parse(path)  # remembered
    fast = [json.dumps(_extract(path)) for path in paths]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(json_path, "parse", own_parse)
        assert [json.dumps(_extract(path)) for path in paths] == fast


def _extract(path: str) -> object:
    try:
        return json_path.extract_json(path, TICKET)
    except Exception as err:  # a path this input lacks: the error must be moto's too
        return f"{type(err).__name__}: {err}"
