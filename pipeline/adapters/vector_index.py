"""Vector storage and nearest-neighbour search for incident detection.

Why this design (README "Incidents" has the figures):
- The vector is stored WITH THE TICKET in DynamoDB (attribute `embedding`, float16 bytes: 768 B for MiniLM's
  384 dimensions, 1 KiB for Titan V2 at 512), so there is no second store to provision, back up or keep
  consistent, on AWS or on moto.
- A GSI (`embedding_day` + `embedded_at`) lets a function read one day's vectors in a few Query pages.
  Each warm process keeps the window as one float32 numpy matrix and catches up incrementally (only the
  vectors written since its last look, with an overlap for GSI lag). The search is a matrix-vector product:
  ~2 ms at 10,000 open tickets here (bench/incidents.py), far under the 100 ms budget.
- The few best candidates are then read back with BatchGetItem: their CURRENT status and incident come
  from the table, so a ticket resolved or split a second ago is judged as it is now.
At 1 M open tickets the matrix (1.5 GB at 384-d float32) no longer fits a function's memory and a cold
start could not load it: switch the search to a real ANN index (Amazon S3 Vectors, or OpenSearch
Serverless k-NN with HNSW) behind the same VectorIndex port, keeping the ticket item as the source of truth.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from contract import names
from pipeline.domain.incident_signals import Profile
from pipeline.domain.incidents import (
    DEFAULT_DECAY_PER_HOUR,
    NEIGHBOURS,
    Neighbour,
    root_of,
    time_adjusted,
)

KEY = "ticket_id"
EMBEDDING = names.EMBEDDING_ATTR
EMBEDDING_DAY = names.EMBEDDING_DAY_ATTR  # GSI partition key: the UTC day the ticket was submitted
EMBEDDED_AT = names.EMBEDDED_AT_ATTR  # GSI sort key: when the vector was written (ISO, microseconds)
EMBEDDING_INDEX = names.EMBEDDING_INDEX
INCIDENT_ID = "incident_id"
# The link score's profile of a ticket, written beside its vector (product and issue type are on the item).
SIGNALS = "incident_signals"  # string set; absent when the text names no signal (a set cannot be empty)
COMPANY = "incident_company"
COMPANIES = "incident_companies"  # on an incident's root: the companies reporting it
MEMBERS = "incident_members"  # on an incident's root: its member ticket ids
TEXT = names.INCIDENT_TEXT_ATTR  # the redacted text the second opinion reads (absent: stored before it)
MEMBERS_READ = 100  # a candidate incident's other members read back per ticket (one BatchGetItem)
# Re-read this much before the last watermark: a GSI is eventually consistent (usually < 1 s behind).
CATCH_UP_OVERLAP = timedelta(seconds=10)


def embedding_index_definition() -> dict[str, Any]:
    """The tickets table's GSI for the window (local provisioning; CDK declares the same keys)."""
    return {
        "IndexName": EMBEDDING_INDEX,
        "KeySchema": [
            {"AttributeName": EMBEDDING_DAY, "KeyType": "HASH"},
            {"AttributeName": EMBEDDED_AT, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": [EMBEDDING, "submitted_at"]},
    }


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored: float16, little-endian (half the bytes; cosine error < 1e-3)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    """A stored vector back as float32."""
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


def to_attribute(vector: np.ndarray) -> dict[str, str]:
    """The item attribute: the float16 bytes as base64 text. Not DynamoDB's B type: boto3's Binary breaks
    str() and json.dumps(default=str) of an item, which tools and tests do (1 KiB instead of 768 bytes)."""
    return {"S": base64.b64encode(to_bytes(vector)).decode("ascii")}


def from_attribute(value: dict[str, Any]) -> np.ndarray:
    """A stored vector attribute back as float32."""
    return from_bytes(base64.b64decode(value["S"]))


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class WindowMatrix:
    """Unit vectors of the recent tickets in one growable float32 matrix; top-k by dot product."""

    def __init__(self, dimensions: int, capacity: int = 1024):
        self.dimensions = dimensions
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((capacity, dimensions), dtype=np.float32)
        self._times = np.full(capacity, -np.inf)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ticket_id: str, vector: np.ndarray, submitted_at: datetime) -> None:
        """Add or replace one ticket's vector."""
        row = self._rows.get(ticket_id)
        if row is None:
            row = len(self._ids)
            if row >= self._matrix.shape[0]:
                self._resize(2 * row)
            self._ids.append(ticket_id)
            self._rows[ticket_id] = row
        self._matrix[row] = vector
        self._times[row] = _epoch(submitted_at)

    def _resize(self, capacity: int) -> None:
        n = len(self._ids)
        matrix = np.zeros((max(capacity, 1024), self.dimensions), dtype=np.float32)
        times = np.full(matrix.shape[0], -np.inf)
        matrix[:n], times[:n] = self._matrix[:n], self._times[:n]
        self._matrix, self._times = matrix, times

    def top_k(
        self,
        vector: np.ndarray,
        *,
        since: datetime,
        at: datetime | None = None,
        decay_per_hour: float = 0.0,
        k: int = NEIGHBOURS,
    ) -> list[tuple[str, float, float]]:
        """The k tickets submitted at or after `since` with the highest time-adjusted similarity to `vector`
        (pipeline.domain.incidents.time_adjusted, relative to `at`), best first: (id, adjusted, cosine)."""
        n = len(self._ids)
        if n == 0:
            return []
        # einsum runs one thread of SIMD loops (~1 ms at 10k x 384 here); BLAS's threaded matmul is faster at
        # the median but its threads, descheduled on busy shared cores, gave p99 spikes of 10-270 ms.
        cosines: np.ndarray = np.einsum("ij,j->i", self._matrix[:n], np.asarray(vector, dtype=np.float32))
        scores = cosines.copy()
        times = self._times[:n]
        if at is not None and decay_per_hour:
            hours = (times - _epoch(at)) / 3600.0
            scores = np.asarray(time_adjusted(scores, hours, decay_per_hour), dtype=np.float32)  # type: ignore[arg-type]
        scores[times < _epoch(since)] = -np.inf
        k = min(k, n)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(self._ids[i], float(scores[i]), float(cosines[i])) for i in best if np.isfinite(scores[i])]

    def cosines(self, ticket_ids: Iterable[str], vector: np.ndarray, *, since: datetime) -> dict[str, float]:
        """The cosine of each given ticket still in the window (submitted at or after `since`) to `vector`."""
        found = [(t, r) for t in ticket_ids if (r := self._rows.get(t)) is not None]
        if not found:
            return {}
        ids, rows = zip(*found, strict=True)
        index = np.fromiter(rows, dtype=np.intp, count=len(rows))
        values = np.einsum("ij,j->i", self._matrix[index], np.asarray(vector, dtype=np.float32))
        recent = self._times[index] >= _epoch(since)
        return {t: float(v) for t, v, keep in zip(ids, values.tolist(), recent.tolist(), strict=True) if keep}

    def evict_before(self, cutoff: datetime) -> None:
        """Forget tickets submitted before the cutoff (keeps a long-lived process's matrix bounded)."""
        n = len(self._ids)
        keep = np.flatnonzero(self._times[:n] >= _epoch(cutoff))
        if len(keep) == n:
            return
        self._ids = [self._ids[i] for i in keep]
        self._rows = {t: i for i, t in enumerate(self._ids)}
        matrix, times = self._matrix[keep], self._times[keep]
        self._matrix = np.zeros((max(1024, 2 * len(keep)), self.dimensions), dtype=np.float32)
        self._times = np.full(self._matrix.shape[0], -np.inf)
        self._matrix[: len(keep)], self._times[: len(keep)] = matrix, times


class InMemoryVectorIndex:
    """A VectorIndex held in one process (tests, the benchmark); statuses and incidents set by the caller."""

    def __init__(self, dimensions: int):
        self.window = WindowMatrix(dimensions)
        self.incidents: dict[str, str] = {}
        self.statuses: dict[str, str] = {}
        self.profiles: dict[str, Profile] = {}
        self.texts: dict[str, str] = {}

    def add(
        self,
        ticket_id: str,
        vector: np.ndarray,
        submitted_at: datetime,
        profile: Profile | None = None,
        text: str = "",
    ) -> None:
        self.window.add(ticket_id, vector, submitted_at)
        if profile is not None:
            self.profiles[ticket_id] = profile
        if text:
            self.texts[ticket_id] = text

    def reporters(self, incident_id: str | None) -> int:
        """Distinct companies among the incident's members (0 for no incident)."""
        if not incident_id:
            return 0
        members = [t for t, i in self.incidents.items() if i == incident_id]
        return len({c for t in members if (c := self.profiles.get(t, Profile()).company)})

    def nearest(
        self,
        vector: np.ndarray,
        *,
        since: datetime,
        at: datetime,
        decay_per_hour: float = DEFAULT_DECAY_PER_HOUR,
        k: int = NEIGHBOURS,
    ) -> list[Neighbour]:
        found = self.window.top_k(vector, since=since, at=at, decay_per_hour=decay_per_hour, k=k)
        # A candidate incident counts as a whole: its other members in the window come with it.
        seen = {t for t, _, _ in found}
        wanted = {self.incidents[t] for t in seen if t in self.incidents}
        others = [t for t, i in self.incidents.items() if i in wanted and t not in seen]
        extra = self.window.cosines(others, vector, since=since)
        more = [(t, extra[t], extra[t]) for t in sorted(extra, key=lambda t: -extra[t])[:MEMBERS_READ]]
        return [
            Neighbour(
                t,
                s,
                self.incidents.get(t),
                self.statuses.get(t, "TRIAGED"),
                similarity=c,
                profile=self.profiles.get(t),
                reporters=self.reporters(self.incidents.get(t)),
                text=self.texts.get(t, ""),
            )
            for t, s, c in [*found, *more]
        ]


def _days(since: datetime, until: datetime) -> Iterable[str]:
    day = since.astimezone(UTC).date()
    while day <= until.astimezone(UTC).date():
        yield day.isoformat()
        day += timedelta(days=1)


class DynamoVectorIndex:
    """The tickets table as the vector store: vectors on the ticket items, the window cached in-process."""

    def __init__(self, table_name: str, client: Any, dimensions: int, *, now: Any = None):
        self._table = table_name
        self._client = client
        self._now = now or (lambda: datetime.now(UTC))
        self.window = WindowMatrix(dimensions)
        self._watermark: dict[str, str] = {}  # day -> highest embedded_at seen

    def add(
        self,
        ticket_id: str,
        vector: np.ndarray,
        submitted_at: datetime,
        profile: Profile | None = None,
        text: str = "",
    ) -> None:
        """Store the vector (and the link profile's company and signals, and the redacted text the second
        opinion reads) on the ticket item."""
        embedded_at = self._now().astimezone(UTC).isoformat(timespec="microseconds")
        sets = ["#e = :e", "#d = :d", "#at = :at"]
        names_: dict[str, str] = {"#e": EMBEDDING, "#d": EMBEDDING_DAY, "#at": EMBEDDED_AT}
        values: dict[str, Any] = {
            ":e": to_attribute(vector),
            ":d": {"S": submitted_at.astimezone(UTC).date().isoformat()},
            ":at": {"S": embedded_at},
        }
        if profile is not None:
            sets.append("#co = :co")
            names_["#co"], values[":co"] = COMPANY, {"S": profile.company}
            if profile.signals:
                sets.append("#sg = :sg")
                names_["#sg"], values[":sg"] = SIGNALS, {"SS": sorted(profile.signals)}
        if text:
            sets.append("#tx = :tx")
            names_["#tx"], values[":tx"] = TEXT, {"S": text}
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": ticket_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names_,
            ExpressionAttributeValues=values,
        )
        self.window.add(ticket_id, vector, submitted_at)

    def _catch_up(self, since: datetime) -> None:
        for day in _days(since, self._now()):
            names = {"#d": EMBEDDING_DAY, "#at": EMBEDDED_AT}
            condition = "#d = :d"
            values: dict[str, Any] = {":d": {"S": day}}
            mark = self._watermark.get(day)
            if mark:
                condition += " AND #at >= :mark"
                lower = datetime.fromisoformat(mark) - CATCH_UP_OVERLAP
                values[":mark"] = {"S": lower.isoformat(timespec="microseconds")}
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": EMBEDDING_INDEX,
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": {**names, "#k": KEY, "#e": EMBEDDING, "#s": "submitted_at"},
                "ExpressionAttributeValues": values,
                "ProjectionExpression": "#k, #e, #s, #at",
            }
            while True:
                page = self._client.query(**kwargs)
                for item in page.get("Items", []):
                    submitted = datetime.fromisoformat(item["submitted_at"]["S"].replace("Z", "+00:00"))
                    self.window.add(item[KEY]["S"], from_attribute(item[EMBEDDING]), submitted)
                    at = item[EMBEDDED_AT]["S"]
                    if at > self._watermark.get(day, ""):
                        self._watermark[day] = at
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self.window.evict_before(since)
        for day in [d for d in self._watermark if d < since.astimezone(UTC).date().isoformat()]:
            del self._watermark[day]

    def nearest(
        self,
        vector: np.ndarray,
        *,
        since: datetime,
        at: datetime,
        decay_per_hour: float = DEFAULT_DECAY_PER_HOUR,
        k: int = NEIGHBOURS,
    ) -> list[Neighbour]:
        """Catch up with the table, scan the window, then read the candidates' current status, incident and
        profile, and how many companies report each candidate incident (one BatchGetItem each)."""
        self._catch_up(since)
        found = self.window.top_k(vector, since=since, at=at, decay_per_hour=decay_per_hour, k=k)
        if not found:
            return []
        attributes = {
            "#k": KEY,
            "#s": "status",
            "#i": INCIDENT_ID,
            "#p": "product",
            "#t": "issue_type",
            "#co": COMPANY,
            "#sg": SIGNALS,
            "#at": "submitted_at",
            "#tx": TEXT,
        }
        current = self._batch_get([t for t, _, _ in found], attributes)
        incidents = {
            i.get(INCIDENT_ID, {}).get("S") for i in current.values() if i.get(INCIDENT_ID, {}).get("S")
        }
        roots = self._batch_get(
            sorted({root_of(i) for i in incidents if i}), {"#k": KEY, "#c": COMPANIES, "#m": MEMBERS}
        )
        # A candidate incident counts as a whole: its other members still in the window come with it (their
        # cosine from the window matrix; their profiles in one more BatchGetItem, at most 100 of them).
        members = {m for r in roots.values() for m in r.get(MEMBERS, {}).get("SS", [])} - set(current)
        extra = self.window.cosines(sorted(members), vector, since=since)
        wanted = sorted(extra, key=lambda t: -extra[t])[:MEMBERS_READ]
        current.update(self._batch_get(wanted, attributes))
        out = []
        for ticket_id, score, cosine in [*found, *((t, extra[t], extra[t]) for t in wanted)]:
            item = current.get(ticket_id)
            if item is None:
                continue  # unprocessed or gone: a missed candidate only means no link, never a wrong one
            incident = item.get(INCIDENT_ID, {}).get("S") or None
            reporters = (
                len(roots.get(root_of(incident), {}).get(COMPANIES, {}).get("SS", [])) if incident else 0
            )
            out.append(
                Neighbour(
                    ticket_id,
                    score,
                    incident,
                    item.get("status", {}).get("S", "TRIAGED"),
                    similarity=cosine,
                    profile=_profile(item),
                    reporters=reporters,
                    text=item.get(TEXT, {}).get("S", ""),
                )
            )
        return out

    def _batch_get(self, ids: list[str], attributes: dict[str, str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        resp = self._client.batch_get_item(
            RequestItems={
                self._table: {
                    "Keys": [{KEY: {"S": t}} for t in ids],
                    "ProjectionExpression": ", ".join(attributes),
                    "ExpressionAttributeNames": attributes,
                }
            }
        )
        return {i[KEY]["S"]: i for i in resp.get("Responses", {}).get(self._table, [])}


def _profile(item: dict[str, Any]) -> Profile:
    """A candidate's link profile from its item (tickets embedded before profiles existed: no signals)."""
    submitted = item.get("submitted_at", {}).get("S")
    return Profile(
        product=item.get("product", {}).get("S", ""),
        issue_type=item.get("issue_type", {}).get("S", ""),
        company=item.get(COMPANY, {}).get("S", ""),
        signals=frozenset(item.get(SIGNALS, {}).get("SS", [])),
        submitted_at=datetime.fromisoformat(submitted.replace("Z", "+00:00")) if submitted else None,
    )
