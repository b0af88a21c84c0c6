"""Reply-quality evaluation of stored tickets (`tms eval`).

Deterministic checks come first: every rule of `pipeline.domain.policy` plus a closed-enum priority,
counted per rule. An optional LLM judge scores the four original criteria beside them (never instead of
them: the original judge gave 97 % "professional tone" to replies that broke the tone rules). With the
generator's truth file, the detected sentiment is cross-tabulated against the generator's target.

Records are read from the S3 archive (`tickets/` JSON Lines): it holds the full flat record, reply text
and customer name included, exactly what the warehouse loads. DynamoDB holds the same fields but is the
mutable working copy (status changes after triage).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from contract import names
from contract.catalog import SENTIMENT_TARGET_NAMES
from contract.errors import TmsError
from contract.models import Priority, SentimentLabel, is_ticket_id
from pipeline.domain.policy import RULES, check_reply

PRIORITY_RULE = "priority_valid"
ALL_RULES: tuple[str, ...] = (*RULES, PRIORITY_RULE)
SENTIMENT_LABELS: tuple[str, ...] = tuple(label.value for label in SentimentLabel)
# The Comprehend label a generator target should be detected as.
EXPECTED_LABEL = {
    "NEGATIVE": "NEGATIVE",
    "SLIGHTLY NEGATIVE": "NEGATIVE",
    "NEUTRAL": "NEUTRAL",
    "SLIGHTLY POSITIVE": "POSITIVE",
    "POSITIVE": "POSITIVE",
}
JUDGE_CRITERIA = ("contextual_relevance", "technical_accuracy", "professional_tone", "actionable_guidance")


class TruthFileError(TmsError):
    """The truth file (ticket id -> target sentiment) is missing, unreadable or malformed."""


class EvaluationInputError(TmsError):
    """The stored records could not be read."""


# --- Truth files ------------------------------------------------------------------------------------------
# Format: by extension. `.csv`: a header `ticket_id,target` then one row per ticket. Anything else: a JSON
# object {"TKT-...": "NEGATIVE", ...}.


def write_truth(path: Path, truth: dict[str, str]) -> None:
    """Write ticket id -> target as CSV (`.csv`) or a JSON object (any other extension)."""
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["ticket_id", "target"])
            writer.writerows(sorted(truth.items()))
    else:
        path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def read_truth(path: Path) -> dict[str, str]:
    """Read a truth file; any malformed content raises TruthFileError naming the file and the problem."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as e:
        raise TruthFileError(f"cannot read truth file {path}: {e.strerror or e}") from e
    pairs: list[tuple[str, str]] = []
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(io.StringIO(raw)))
        if not rows or [c.strip() for c in rows[0]] != ["ticket_id", "target"]:
            raise TruthFileError(f"{path}: the first line must be the header 'ticket_id,target'")
        for n, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) != 2:
                raise TruthFileError(f"{path}:{n}: expected 2 columns, got {len(row)}")
            pairs.append((row[0].strip(), row[1].strip()))
    else:
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise TruthFileError(f"{path}: not valid JSON ({e})") from e
        if isinstance(data, dict) and isinstance(data.get("sentiment"), dict) and "incidents" in data:
            data = data["sentiment"]  # `tms generate --incidents` truth: sentiment targets plus the grouping
        if not isinstance(data, dict):
            raise TruthFileError(f"{path}: expected a JSON object of ticket_id -> target")
        pairs = [(str(k), v if isinstance(v, str) else repr(v)) for k, v in data.items()]
    truth: dict[str, str] = {}
    for ticket_id, target in pairs:
        if not is_ticket_id(ticket_id):
            raise TruthFileError(f"{path}: {ticket_id!r} is not a ticket id")
        if target not in SENTIMENT_TARGET_NAMES:
            raise TruthFileError(
                f"{path}: target {target!r} for {ticket_id} is not one of {', '.join(SENTIMENT_TARGET_NAMES)}"
            )
        truth[ticket_id] = target
    if not truth:
        raise TruthFileError(f"{path}: no entries")
    return truth


# --- Reading stored records -------------------------------------------------------------------------------


def parse_json_lines(text: str, origin: str) -> Iterator[dict[str, Any]]:
    """Records of one JSON Lines document; a bad line raises EvaluationInputError naming where."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                record = json.loads(line)
            except ValueError as e:
                raise EvaluationInputError(f"{origin}:{n}: not JSON ({e})") from e
            if not isinstance(record, dict):
                raise EvaluationInputError(f"{origin}:{n}: expected a JSON object")
            yield record


def read_file_records(path: Path) -> list[dict[str, Any]]:
    """Processed records from a local JSON Lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise EvaluationInputError(f"cannot read {path}: {e.strerror or e}") from e
    return list(parse_json_lines(text, str(path)))


def read_archive_records(
    s3: Any, bucket: str, prefix: str = names.ARCHIVE_PREFIX, workers: int = 16
) -> list[dict[str, Any]]:
    """Every processed record under `prefix` in the S3 archive (objects fetched in parallel)."""
    from botocore.exceptions import ClientError

    try:
        keys = [
            obj["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]
    except ClientError as e:
        raise EvaluationInputError(f"cannot list s3://{bucket}/{prefix}: {e}") from e

    def fetch(key: str) -> list[dict[str, Any]]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        return list(parse_json_lines(body, f"s3://{bucket}/{key}"))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [r for records in pool.map(fetch, keys) for r in records]


# --- Deterministic checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordResult:
    """The violations of one stored reply."""

    ticket_id: str
    violations: tuple[tuple[str, str], ...]  # (rule, detail)


def check_record(record: dict[str, Any]) -> RecordResult:
    """Run every deterministic rule on one stored record (raw dict, so a bad priority is seen, not rejected)."""
    ticket_id = str(record.get("ticket_id", ""))
    raw_priority = record.get("priority")
    found: list[tuple[str, str]] = []
    if raw_priority in Priority.__members__:
        priority = Priority(str(raw_priority))
    else:
        found.append((PRIORITY_RULE, f"priority {raw_priority!r} is not one of {', '.join(Priority)}"))
        priority = Priority.NORMAL
    violations = check_reply(
        str(record.get("response_text") or ""), ticket_id, priority, record.get("customer_first_name") or None
    )
    for v in violations:
        # Without a valid priority there is no escalation timing to compare against.
        if v.rule == "escalation_matches_priority" and found:
            continue
        found.append((v.rule, v.detail))
    return RecordResult(ticket_id, tuple(found))


# --- LLM judge (port) -------------------------------------------------------------------------------------


class JudgeScores(BaseModel):
    """The judge's 1-5 scores on the four original criteria."""

    contextual_relevance: int = Field(
        ge=1, le=5, description="Does the reply address this ticket's product and issue?"
    )
    technical_accuracy: int = Field(ge=1, le=5, description="Are the technical statements and steps correct?")
    professional_tone: int = Field(
        ge=1, le=5, description="Professional, calm, no contractions or exclamations?"
    )
    actionable_guidance: int = Field(
        ge=1, le=5, description="Are there concrete steps the customer can take now?"
    )
    rationale: str = Field(
        default="", max_length=600, description="One or two sentences explaining the scores."
    )


class ReplyJudge(Protocol):
    """Port: scores one stored reply."""

    def judge(self, record: dict[str, Any]) -> JudgeScores:
        """Scores for the reply in `record`."""
        ...


JUDGE_SYSTEM_PROMPT = (
    "You grade customer-support replies for an AWS support desk. Score each criterion from 1 (poor) to 5 "
    "(excellent). Be strict: a reply with contractions, exclamation marks or vague advice cannot score 5 on "
    "professional tone or actionable guidance. Answer only through the provided tool."
)


def judge_messages(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The chat messages for judging one record."""
    ticket = (
        f"Product: {record.get('product')}\nIssue type: {record.get('issue_type')}\n"
        f"Subject: {record.get('subject')}\nDescription: {record.get('description')}\n"
        f"Assigned priority: {record.get('priority')}\n\nReply to grade:\n{record.get('response_text')}"
    )
    return [("system", JUDGE_SYSTEM_PROMPT), ("human", ticket)]


class LangChainJudge:
    """Adapter: any LangChain chat model with tool calling, structured output validated by pydantic, retried."""

    def __init__(self, chat_model: Any, attempts: int = 3, backoff: bool = True):
        structured = chat_model.with_structured_output(JudgeScores)
        # Runnable.with_retry is tenacity underneath: exponential backoff with jitter, bounded attempts.
        self._runnable = structured.with_retry(stop_after_attempt=attempts, wait_exponential_jitter=backoff)

    def judge(self, record: dict[str, Any]) -> JudgeScores:
        """Scores for the reply in `record` (a malformed answer is retried, then raises)."""
        result = self._runnable.invoke(judge_messages(record))
        return result if isinstance(result, JudgeScores) else JudgeScores.model_validate(result)


def bedrock_judge(model_id: str | None = None, client: Any = None) -> LangChainJudge:
    """The judge on Bedrock (ChatBedrockConverse); region and endpoint from the standard AWS variables."""
    from langchain_aws import ChatBedrockConverse

    from pipeline.adapters.llm import DEFAULT_BEDROCK_MODEL_ID, bedrock_runtime_client

    chat = ChatBedrockConverse(
        model_id=model_id or DEFAULT_BEDROCK_MODEL_ID,
        client=client or bedrock_runtime_client(),
        temperature=0.0,
        max_tokens=400,
    )
    return LangChainJudge(chat)


# --- The report -------------------------------------------------------------------------------------------


@dataclass
class EvalReport:
    """Per-rule violation counts, optional judge means and the sentiment confusion table."""

    records: int = 0
    compliant: int = 0
    rule_violations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_RULES, 0))
    examples: dict[str, list[str]] = field(default_factory=dict)  # rule -> a few "ticket: detail"
    judge_scores: dict[str, float] = field(default_factory=dict)
    judged: int = 0
    judge_errors: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # target -> detected label -> count
    truth_matched: int = 0
    truth_missing: int = 0

    def sentiment_agreement(self) -> float | None:
        """Share of matched tickets whose detected label is the one expected for their target."""
        total = sum(sum(row.values()) for row in self.confusion.values())
        if not total:
            return None
        hits = sum(row.get(EXPECTED_LABEL[t], 0) for t, row in self.confusion.items())
        return hits / total

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "records": self.records,
            "compliant": self.compliant,
            "compliance_rate": round(self.compliant / self.records, 4) if self.records else None,
            "rules": {
                rule: {
                    "violations": n,
                    "pass_rate": round(1 - n / self.records, 4) if self.records else None,
                    "examples": self.examples.get(rule, []),
                }
                for rule, n in self.rule_violations.items()
            },
            "judge": {"judged": self.judged, "errors": self.judge_errors, "mean_scores": self.judge_scores}
            if self.judged or self.judge_errors
            else None,
            "sentiment": {
                "confusion": self.confusion,
                "matched": self.truth_matched,
                "missing_from_truth": self.truth_missing,
                "agreement": self.sentiment_agreement(),
            }
            if self.confusion or self.truth_missing
            else None,
        }


def evaluate(
    records: Iterable[dict[str, Any]],
    *,
    truth: dict[str, str] | None = None,
    judge: ReplyJudge | None = None,
    judge_sample: int = 20,
    examples_per_rule: int = 3,
) -> EvalReport:
    """Check every record; judge the first `judge_sample` of them when a judge is given."""
    report = EvalReport()
    sums: Counter[str] = Counter()
    if truth is not None:
        report.confusion = {t: dict.fromkeys(SENTIMENT_LABELS, 0) for t in SENTIMENT_TARGET_NAMES}
    for record in records:
        if "ticket_id" not in record or "response_text" not in record:
            raise EvaluationInputError(
                f"record {record.get('ticketId') or record.get('ticket_id') or '?'!s} is not a processed record "
                "(no ticket_id/response_text): pass the archive's records, not generator events"
            )
        report.records += 1
        result = check_record(record)
        if not result.violations:
            report.compliant += 1
        for rule in dict.fromkeys(rule for rule, _ in result.violations):
            report.rule_violations[rule] = report.rule_violations.get(rule, 0) + 1
            bucket = report.examples.setdefault(rule, [])
            if len(bucket) < examples_per_rule:
                detail = next(d for r, d in result.violations if r == rule)
                bucket.append(f"{result.ticket_id}: {detail}")
        if truth is not None:
            target = truth.get(result.ticket_id)
            detected = str(record.get("sentiment", ""))
            if target is None or detected not in SENTIMENT_LABELS:
                report.truth_missing += 1
            else:
                report.truth_matched += 1
                report.confusion[target][detected] += 1
        if judge is not None and report.judged + report.judge_errors < judge_sample:
            try:
                scores = judge.judge(record)
            except Exception:  # a judge failure is reported, never fatal to the deterministic results
                report.judge_errors += 1
            else:
                report.judged += 1
                for criterion in JUDGE_CRITERIA:
                    sums[criterion] += getattr(scores, criterion)
    if report.judged:
        report.judge_scores = {c: round(sums[c] / report.judged, 2) for c in JUDGE_CRITERIA}
    return report


def render_report(report: EvalReport) -> str:
    """A readable plain-text table of the report."""
    lines = [f"Replies evaluated: {report.records}   fully compliant: {report.compliant}"]
    if report.records:
        lines[0] += f" ({report.compliant / report.records:.1%})"
    lines += ["", f"{'rule':<30} {'violations':>10} {'pass rate':>10}", "-" * 52]
    for rule, n in report.rule_violations.items():
        rate = f"{1 - n / report.records:.1%}" if report.records else "-"
        lines.append(f"{rule:<30} {n:>10} {rate:>10}")
    for rule, examples in report.examples.items():
        for ex in examples[:1]:
            lines.append(f"  e.g. {rule}: {ex}")
    if report.judged or report.judge_errors:
        lines += ["", f"LLM judge (mean of {report.judged} replies, 1-5; {report.judge_errors} errors)"]
        for criterion, score in report.judge_scores.items():
            lines.append(f"  {criterion:<28} {score:>5.2f}")
    if report.confusion:
        width = max(len(t) for t in SENTIMENT_TARGET_NAMES)
        lines += ["", "Detected sentiment (columns) vs generator target (rows)"]
        lines.append(f"{'target':<{width}} " + " ".join(f"{label:>9}" for label in SENTIMENT_LABELS))
        for target, row in report.confusion.items():
            lines.append(f"{target:<{width}} " + " ".join(f"{row[label]:>9}" for label in SENTIMENT_LABELS))
        agreement = report.sentiment_agreement()
        if agreement is not None:
            lines.append(f"agreement with target: {agreement:.1%} of {report.truth_matched} tickets")
        if report.truth_missing:
            lines.append(f"records without a truth entry or a sentiment: {report.truth_missing}")
    return "\n".join(lines)
