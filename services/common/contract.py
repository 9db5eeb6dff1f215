"""Names of the Temporal contract (proto/veilsync/temporal/v1): queues, workflows, handlers."""

SYNC_TASK_QUEUE = "sync"
ML_TASK_QUEUE = "ml"

DATA_SYNC_WORKFLOW = "DataSyncWorkflow"
GENERATE_WORKFLOW = "GenerateWorkflow"
GET_SYNC_PROGRESS_QUERY = "GetSyncProgress"
SET_SYNC_PROGRESS_SIGNAL = "SetSyncProgress"

DEFAULT_ACCOUNT_ID = "default"
