"""Typed errors. Names end in `Error` and are matched by class name in the ASL Retry/Catch blocks."""

from __future__ import annotations


class TmsError(Exception):
    """Base of every tms error."""


class InvalidTicketError(TmsError):
    """A ticket failed validation at intake; the message names the field and why."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class LlmThrottledError(TmsError):
    """The reply model refused for rate or quota reasons: worth retrying with backoff."""


class LlmUnavailableError(TmsError):
    """The reply model could not be reached or timed out: worth retrying."""


class EmbeddingUnavailableError(TmsError):
    """The embedding model could not be reached or timed out: worth retrying."""


class InvalidModelOutputError(TmsError):
    """The reply model answered something that breaks the contract; it is never stored."""


class ArchiveError(TmsError):
    """The S3 archive write failed transiently: worth retrying."""


class ConfigurationError(TmsError):
    """Settings are missing or invalid; raised at cold start or command start."""


class KnowledgeDocumentError(ConfigurationError):
    """A help-centre file cannot become a knowledge-base document (no link, bad front matter): the message
    names the file and what is missing. The CLI stops on it; the sync function skips that file."""


class StackNotRunningError(TmsError):
    """No local stack is running and no AWS settings were given."""


class SlaConfigError(ConfigurationError):
    """An SLA setting is invalid (a duration that does not parse, an unknown time zone, ...)."""


class TimerError(TmsError):
    """The SLA timer could not be armed or cancelled (the scheduler refused transiently): worth retrying."""


class RoutingError(TmsError):
    """The on-call routing could not read or write an agent's load (the ticket stays unassigned)."""


class KnowledgeBaseConflictError(TmsError):
    """Other writers changed kb/index.json between every read and conditional write this writer tried
    (contract/defaults.KB_WRITE_ATTEMPTS): nothing was lost, the change was not made; retry it."""
