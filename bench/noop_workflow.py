"""The floor for the single-send bench: one workflow running one local activity
that does nothing, on the same Temporal server and worker setup as Herald's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass
class NoopInput:
    name: str


@activity.defn
async def noop(inp: NoopInput) -> str:
    return inp.name


@workflow.defn
class NoopWorkflow:
    @workflow.run
    async def run(self, inp: NoopInput) -> str:
        return await workflow.execute_local_activity(
            noop, inp, start_to_close_timeout=timedelta(seconds=10)
        )
