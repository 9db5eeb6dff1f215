import { Code, type Client } from "@connectrpc/connect";
import { setTimeout as sleep } from "node:timers/promises";
import { VeilsyncError } from "./errors.js";
import {
  RunStatus,
  type JobRun,
  type JobRunProgress,
  type JobService,
} from "./gen/veilsync/v1/job_pb.js";

/** Called with each change of a run's progress. */
export type OnProgress = (progress: JobRunProgress) => void;

/** How often in a row, with no progress in between, waitForRun opens the stream again after
 * losing it, and how long it waits before each try. */
export interface Reconnect {
  attempts: number;
  delayMs: number;
}

const RECONNECT: Reconnect = { attempts: 5, delayMs: 1000 };

/** A job's runs by id: read, watch, wait for, cancel. */
export class Runs {
  constructor(
    private readonly jobs: Client<typeof JobService>,
    private readonly reconnect: Reconnect = RECONNECT,
  ) {}

  async get(runId: string): Promise<JobRun> {
    const { run } = await this.jobs.getJobRun({ runId });
    return required(run, runId);
  }

  async progress(runId: string): Promise<JobRunProgress> {
    const { progress } = await this.jobs.getJobRunProgress({ runId });
    return required(progress, runId);
  }

  /** The run's progress each time it changes; the last one has the run's final state. */
  async *watch(runId: string, signal?: AbortSignal): AsyncIterable<JobRunProgress> {
    for await (const { progress } of this.jobs.watchJobRunProgress({ runId }, { signal })) {
      if (progress) {
        yield progress;
      }
    }
  }

  /** Resolves with the finished run, calling `onProgress` on every change until then. A
   * dropped stream (UNAVAILABLE: the API restarted, a proxy timed out), or one that ends
   * before the run does, is opened again. */
  async waitForRun(runId: string, onProgress?: OnProgress): Promise<JobRun> {
    for (let failures = 0; ; ) {
      let lastError: unknown = new VeilsyncError(
        Code.Unavailable,
        `the progress stream of run ${runId} kept ending before the run did`,
      );
      try {
        for await (const progress of this.watch(runId)) {
          failures = 0;
          onProgress?.(progress);
          if (isFinal(progress)) {
            return await this.get(runId);
          }
        }
      } catch (err) {
        if (!(err instanceof VeilsyncError && err.code === Code.Unavailable)) {
          throw err;
        }
        lastError = err;
      }
      if (++failures > this.reconnect.attempts) {
        throw lastError;
      }
      await sleep(this.reconnect.delayMs);
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.jobs.cancelJobRun({ runId });
  }
}

function isFinal(progress: JobRunProgress): boolean {
  return progress.status !== RunStatus.UNSPECIFIED && progress.status !== RunStatus.RUNNING;
}

function required<T>(value: T | undefined, runId: string): T {
  if (value === undefined) {
    throw new VeilsyncError(Code.Internal, `the API returned no data for run ${runId}`);
  }
  return value;
}
