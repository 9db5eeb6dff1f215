// The part of the Temporal contract this worker serves, by the names generated from
// proto/veilsync/temporal/v1 (src/contract/, `make proto`), and the queue it polls.
export {
  SAMPLE_MODEL_ACTIVITY,
  SAMPLE_MODEL_ACTIVITY_INPUT,
  SAMPLE_MODEL_ACTIVITY_OUTPUT,
} from './contract/ml_worker_temporal';

/** The queue this worker polls unless VEILSYNC_ONNX_TASK_QUEUE names another; a job's
 * synthesized table names it as serving_queue. */
export const DEFAULT_TASK_QUEUE = 'onnx';
