"""Patches that only make moto faster: caches of pure functions and short paths that give moto's own
answer. None of them changes what an AWS call returns; `TMS_LOCAL_SPEED_PATCHES=off` leaves them all out
(and each has a test that compares its answer with moto's own)."""

from __future__ import annotations

import functools
import threading
from typing import Any

from local.moto.patching import Patch, replace

_ASL_PARSE = "moto.stepfunctions.parser.asl.parse.asl_parser:AmazonStateLanguageParser.parse"
_JSON_PATH_PARSE = "moto.stepfunctions.parser.asl.utils.json_path:parse"


def _cache_executor_parsing() -> None:
    """moto re-parses the whole ASL with ANTLR for every execution and builds a new JSONPath parser
    (yacc tables) for every path it evaluates: together about a third of the local stack's CPU. Both
    results are pure functions of their text; per-execution state (retry counters, the data stack)
    lives in each execution's Environment, so one parsed program serves every execution."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path

    parse_asl = functools.lru_cache(maxsize=16)(AmazonStateLanguageParser.parse)
    replace(_ASL_PARSE, staticmethod(parse_asl))
    replace(_JSON_PATH_PARSE, functools.lru_cache(maxsize=4096)(json_path.parse))  # type: ignore[attr-defined]


_BACKEND_FOR_HOST = "moto.moto_server.werkzeug_app:DomainDispatcherApplication.get_backend_for_host"


def _cache_backend_lookup() -> None:
    """moto's server finds the backend of every request by listing its own package directory (an
    `isdir` per service, ~200) and then trying each service's URL regex in turn until one matches the
    request's host: ~15 % of the CPU of a simple request. The answer depends on the host name only (a few
    dozen distinct ones), so it is remembered per host."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    lookup = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in known:
            known[host] = lookup(self, host)
        return known[host]

    get_backend_for_host.__wrapped__ = lookup  # type: ignore[attr-defined]
    replace(_BACKEND_FOR_HOST, get_backend_for_host)


_METHOD_NAMES = "moto.core.responses:method_names_from_class"


def _cache_action_names() -> None:
    """Every query-protocol and JSON request asks `inspect.getmembers` for its handler class's method
    names, to see whether the action is one: a pure function of the class, remembered per class."""
    from moto.core import responses

    names_of = responses.method_names_from_class

    @functools.cache
    def method_names(clazz: object) -> frozenset[str]:
        return frozenset(names_of(clazz))

    replace(_METHOD_NAMES, method_names)


_SERIALIZE_STRUCTURE = "moto.core.serialize:BaseJSONSerializer._serialize_type_structure"


def _fast_attribute_values() -> None:
    """moto serialises each DynamoDB attribute value by asking its attribute picker for all ten members of
    the `AttributeValue` union (S, N, B, M, L, ...), each through six alias providers, a camel-case
    transform and a new picker context: ~15 % of the chaos run's CPU, in responses that are mostly items.
    An attribute value arrives here as a plain dict keyed by its type (`{"S": "..."}`), for which the
    picker can only ever find the keys the dict has; those members are serialised as moto would, in the
    model's member order. Anything else (another shape, an object, a stray key, a response transformer)
    takes moto's own path."""
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        members = shape.members
        if (
            shape.name != "AttributeValue"
            or type(value) is not dict
            or not value.keys() <= members.keys()
            or getattr(self._value_picker, "response_transformers", None)
        ):
            original(self, serialized, value, shape, key)
            return
        wrapper = self.MAP_TYPE() if key else serialized
        for member_key, member_shape in members.items():
            member_shape.parent = shape
            member_value = value.get(member_key)
            if member_value is not None:
                self._serialize(wrapper, member_value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)

    serialize_structure.__wrapped__ = original  # type: ignore[attr-defined]
    replace(_SERIALIZE_STRUCTURE, serialize_structure)


_UPDATE_PARSER_MAKE = "moto.dynamodb.parsing.expressions:UpdateExpressionParser.make"
_VALIDATOR_DEEPCOPY = "moto.dynamodb.parsing.validators:deepcopy"


def _cache_update_expressions() -> None:
    """moto parses every UpdateExpression twice per UpdateItem (once to list the names and values it
    uses, once to run it) and its validator then deep-copies the tree to work on: ~8 % of a chaos run's
    CPU. The parse is a pure function of the text, and both readers leave the tree as it is (the
    validator works on its copy), so one parse per distinct expression serves all; the validator's copy
    is made by a pickle round trip, 2.5x faster than `copy.deepcopy` for these plain-object trees (a tree
    that will not pickle is deep-copied as before)."""
    import copy
    import pickle

    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    parse = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    cached = functools.lru_cache(maxsize=1024)(functools.partial(parse, UpdateExpressionParser))
    replace(_UPDATE_PARSER_MAKE, staticmethod(cached))

    def fresh_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is None and isinstance(value, Node):
            try:  # bytes pickled one line earlier, from moto's own parse: nothing untrusted is loaded
                return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301
            except (pickle.PicklingError, TypeError, AttributeError):
                pass
        return copy.deepcopy(value, memo)

    fresh_copy.__wrapped__ = copy.deepcopy  # type: ignore[attr-defined]
    replace(_VALIDATOR_DEEPCOPY, fresh_copy)


_TABLE_QUERY = "moto.dynamodb.models.table:Table.query"
_TABLE_ALL_ITEMS = "moto.dynamodb.models.table:Table.all_items"


def _narrow_index_queries() -> None:
    """moto answers a Query on a global secondary index by walking every item of the table and, for each
    one with the index's hash key, sorting it and sizing it whole before it looks at the range condition.
    The vector index's catch-up asks for the few vectors written since its last look (`embedded_at >=`)
    in a day's partition, so each ticket's query cost grew with the whole day's tickets (~5 % of a
    300-ticket chaos run's CPU, more at 500). Here the items that fail the range condition are left out
    before moto's own query runs on the rest, with moto's comparison: the same answer, and pages no
    longer break early on the size of items that were never going to match."""
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    narrowed = threading.local()

    def all_items(self: Any) -> Any:
        items = getattr(narrowed, "items", None)
        if items is not None and items[0] is self:
            return items[1]
        return original_all_items(self)

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # moto's DynamoDBBackend.query passes (..., limit, exclusive_start_key, scan_index_forward,
        # projection_expressions, index_name, ...) by position and the key conditions by keyword.
        index_name = args[4] if len(args) > 4 else kwargs.get("index_name")
        conditions = kwargs.get("range_key_conditions")
        if not (index_name and range_comparison and conditions and len(conditions) == 1):
            return original_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        attr = conditions[0][0]
        items = [
            item
            for item in original_all_items(self)
            if (value := item.attrs.get(attr)) and value.compare(range_comparison, range_objs)
        ]
        narrowed.items = (self, items)
        try:
            return original_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            narrowed.items = None

    query.__wrapped__ = original_query  # type: ignore[attr-defined]
    replace(_TABLE_QUERY, query)
    replace(_TABLE_ALL_ITEMS, all_items)


CACHE_EXECUTOR_PARSING = Patch(
    "cache-executor-parsing",
    "speed",
    (_ASL_PARSE, _JSON_PATH_PARSE),
    "the ASL (ANTLR) and JSONPath (yacc) parses, cached by text: moto redoes both per execution and path",
    _cache_executor_parsing,
)
CACHE_BACKEND_LOOKUP = Patch(
    "cache-backend-lookup",
    "speed",
    (_BACKEND_FOR_HOST,),
    "the server's backend lookup, cached per host: moto lists its package and tries every URL regex",
    _cache_backend_lookup,
)
CACHE_ACTION_NAMES = Patch(
    "cache-action-names",
    "speed",
    (_METHOD_NAMES,),
    "a handler class's method names, cached per class: moto runs inspect.getmembers on every request",
    _cache_action_names,
)
FAST_ATTRIBUTE_VALUES = Patch(
    "fast-attribute-values",
    "speed",
    (_SERIALIZE_STRUCTURE,),
    "DynamoDB AttributeValue dicts serialised by their own keys: moto asks its picker for all ten members",
    _fast_attribute_values,
)
CACHE_UPDATE_EXPRESSIONS = Patch(
    "cache-update-expressions",
    "speed",
    (_UPDATE_PARSER_MAKE, _VALIDATOR_DEEPCOPY),
    "UpdateExpression parsed once per text and copied by pickle: moto parses twice and deep-copies per call",
    _cache_update_expressions,
)
NARROW_INDEX_QUERIES = Patch(
    "narrow-index-queries",
    "speed",
    (_TABLE_QUERY, _TABLE_ALL_ITEMS),
    "a GSI Query walks only items its range condition admits: moto sorts and sizes every item first",
    _narrow_index_queries,
)

PATCHES: tuple[Patch, ...] = (
    CACHE_EXECUTOR_PARSING,
    CACHE_BACKEND_LOOKUP,
    CACHE_ACTION_NAMES,
    FAST_ATTRIBUTE_VALUES,
    CACHE_UPDATE_EXPRESSIONS,
    NARROW_INDEX_QUERIES,
)
