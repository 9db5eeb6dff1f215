"""Run hooks: POST a signed JSON summary of a finished run to the job's webhooks.

The body is signed with HMAC-SHA256 under the job's hook secret over "<timestamp>.<body>", so
a receiver can check both origin and freshness. A failed call raises, and the activity's retry
policy calls again; every hook gets the same delivery id, so receivers can drop repeats."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.activity_errors import domain_errors
from services.contract.sync_worker_temporal import DELIVER_RUN_HOOKS_ACTIVITY
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

TIMEOUT_SECONDS = 10
_SUCCEEDED = {job_pb2.RUN_STATUS_SUCCEEDED}


class HookDirectory(Protocol):
    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job: ...

    def hook_secret(self, account_id: str, job_id: str) -> bytes: ...


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def wanted(hook: job_pb2.RunHook, status: "job_pb2.RunStatus.ValueType") -> bool:
    if not hook.events:
        return True
    event = (
        job_pb2.RUN_HOOK_EVENT_SUCCEEDED if status in _SUCCEEDED else job_pb2.RUN_HOOK_EVENT_FAILED
    )
    return event in hook.events


def body(request: sync_pb2.DeliverRunHooksInput, job: job_pb2.Job) -> bytes:
    return json.dumps(
        {
            "run_id": request.run_id,
            "job_id": job.id,
            "job_name": job.name,
            "status": job_pb2.RunStatus.Name(request.status),
            "failure_message": request.failure_message,
            "rows_read": request.rows_read,
            "rows_written": request.rows_written,
        },
        sort_keys=True,
    ).encode()


class RunHookActivities:
    def __init__(self, directory: HookDirectory) -> None:
        self._directory = directory

    @activity.defn(name=DELIVER_RUN_HOOKS_ACTIVITY.name)
    @domain_errors
    def deliver_run_hooks(
        self, request: sync_pb2.DeliverRunHooksInput
    ) -> sync_pb2.DeliverRunHooksResult:
        job = self._directory.get_job(request.account_id, job_id=request.job_id)
        hooks = [hook for hook in job.hooks if wanted(hook, request.status)]
        if not hooks:
            return sync_pb2.DeliverRunHooksResult()
        secret = self._directory.hook_secret(request.account_id, request.job_id)
        payload = body(request, job)
        failures = []
        for hook in hooks:
            try:
                _post(hook.url, payload, secret, request.run_id)
            except (urllib.error.URLError, OSError) as err:
                failures.append(f"{hook.url}: {err}")
        if failures:
            # Retried as a whole: receivers dedupe on X-Veilsync-Delivery.
            raise ApplicationError("; ".join(failures), type="HookDeliveryFailed")
        return sync_pb2.DeliverRunHooksResult(delivered=len(hooks))


def _post(url: str, payload: bytes, secret: bytes, delivery: str) -> None:
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Veilsync-Timestamp": timestamp,
            "X-Veilsync-Signature": signature(secret, timestamp, payload),
            "X-Veilsync-Delivery": delivery,
        },
    )
    # The URL was checked to be http(s) when the job was saved.
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"answered HTTP {response.status}")
