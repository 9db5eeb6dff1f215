"""Names of the Temporal contract as plain strings, for callers that pass names (clients, tests,
benchmarks). The contract is proto/veilsync/temporal/v1/*_worker.proto; services/contract holds
the definitions generated from it, which workers and workflows use."""

from services.contract import ml_worker_temporal, sync_worker_temporal

SYNC_TASK_QUEUE = sync_worker_temporal.SYNC_TASK_QUEUE
ML_TASK_QUEUE = ml_worker_temporal.ML_TASK_QUEUE

DATA_SYNC_WORKFLOW = sync_worker_temporal.DATA_SYNC_WORKFLOW.name
GENERATE_WORKFLOW = sync_worker_temporal.GENERATE_WORKFLOW.name
GET_SYNC_PROGRESS_QUERY = sync_worker_temporal.GET_SYNC_PROGRESS_QUERY.name
SET_SYNC_PROGRESS_SIGNAL = sync_worker_temporal.SET_SYNC_PROGRESS_SIGNAL.name

DEFAULT_ACCOUNT_ID = "default"
