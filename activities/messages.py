"""Activity inputs and results: ids and counts only, never tokens or variables.

No ``from __future__ import annotations`` here: the payload converter resolves
these hints inside the workflow sandbox, where this module is passed through and
not necessarily in the sandbox's ``sys.modules``, so string hints naming
``ErrorCount`` would not resolve. Real type objects need no lookup.
"""

from dataclasses import dataclass, field


@dataclass
class SlotInput:
    operation_id: str
    send_index: int


@dataclass
class SlotStarted:
    queued: int


@dataclass
class BatchInput:
    operation_id: str
    send_index: int
    start: int  # first recipient idx of the batch
    end: int  # one past the last
    round: int  # 0 for the first try, then one more per retry round
    final_round: bool  # transient failures become FAILED instead of waiting


@dataclass
class ErrorCount:
    code: str
    provider: str | None  # None where no provider was involved (no devices)
    count: int


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    pending: int = 0  # still QUEUED: a device answered "try again later"
    unaddressable: int = 0
    retry_after: float = 0.0
    errors: list[ErrorCount] = field(default_factory=list)


@dataclass
class FinishInput:
    operation_id: str
    canceled: bool


@dataclass
class OperationSummary:
    status: str
    stats: dict[str, int]
    error_summary: list[ErrorCount]


@dataclass
class PurgeInput:
    retention_days: int


@dataclass
class PurgeResult:
    operations: int


@dataclass
class SettleInput:
    max_workflows: int = 10_000  # closed workflows looked at per run


@dataclass
class SettleResult:
    operations: int  # records closed as CANCELED
