import { Code, type Client } from "@connectrpc/connect";
import { setTimeout as sleep } from "node:timers/promises";
import { VeilsyncError } from "./errors.js";
import type { JobRun, JobRunProgress, JobService } from "./gen/veilsync/v1/job_pb.js";

/** Called with each change of a run's progress. */
export type OnProgress = (progress: JobRunProgress) => void;

/** How often waitForRun opens the stream again after losing it, and how long it waits. */
const RECONNECTS = 5;
const RECONNECT_DELAY_MS = 1000;

/** A job's runs by id: read, watch, wait for, cancel. */
export class Runs {
  constructor(private readonly jobs: Client<typeof JobService>) {}

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
   * dropped stream (UNAVAILABLE: the API restarted, a proxy timed out) is opened again. */
  async waitForRun(runId: string, onProgress?: OnProgress): Promise<JobRun> {
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const progress of this.watch(runId)) {
          onProgress?.(progress);
        }
        return await this.get(runId);
      } catch (err) {
        const dropped = err instanceof VeilsyncError && err.code === Code.Unavailable;
        if (!dropped || attempt >= RECONNECTS) {
          throw err;
        }
        await sleep(RECONNECT_DELAY_MS);
      }
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.jobs.cancelJobRun({ runId });
  }
}

function required<T>(value: T | undefined, runId: string): T {
  if (value === undefined) {
    throw new VeilsyncError(Code.Internal, `the API returned no data for run ${runId}`);
  }
  return value;
}
