"""worker.py prepares a bare Temporal server: search attributes and the retention Schedule."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from herald.settings import Settings
from tests.pipeline.stack import TEMPORAL_BIN
from worker import SEARCH_ATTRIBUTES, ensure_retention_schedule, ensure_search_attributes
from workflows.retention import PURGE_SCHEDULE_ID


async def test_worker_creates_search_attributes_and_schedule_once() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BIN), dev_server_log_level="error"
    )
    try:
        client = env.client
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        assert not set(SEARCH_ATTRIBUTES) & set(listed.custom_attributes)
        for _ in range(2):  # a second start finds them and changes nothing
            await ensure_search_attributes(client, client.namespace)
            await ensure_retention_schedule(client, Settings(retention_days=3))
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        assert set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)
        schedule = await client.get_schedule_handle(PURGE_SCHEDULE_ID).describe()
        action = schedule.schedule.action
        assert getattr(action, "workflow", None) == "PurgeRecords"
    finally:
        await env.shutdown()
