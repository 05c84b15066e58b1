"""Workflow inputs and query answers, shared with the API's typed handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WORKFLOW_NAME = "PushNotificationOperation"
CANCEL_SIGNAL = "cancel"
PROGRESS_QUERY = "progress"


@dataclass
class OperationInput:
    operation_id: str
    send_at: list[str]  # RFC 3339, ascending
    recipients: int
    batch_size: int = 250
    max_concurrent_batches: int = 4
    max_rounds: int = 5  # first try + retries of transient failures


@dataclass
class Progress:
    status: str
    stats: dict[str, int]
    error_summary: list[dict[str, Any]] = field(default_factory=list)  # code, provider, count
