// `node dist/worker.js`: polls its task queue (VEILSYNC_ONNX_TASK_QUEUE, default "onnx") and
// runs the "sample_model" activity for uploaded ONNX models until SIGINT or SIGTERM.
import { hostname } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { AesGcmCodec, parseKey } from './codec';
import { loadSettings } from './settings';

export const IDENTITY_PREFIX = 'veilsync-typescript-model';
const MAX_CONCURRENT_ACTIVITIES = 2;

async function main(): Promise<void> {
  const settings = loadSettings();
  const connection = await NativeConnection.connect({ address: settings.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: settings.temporalNamespace,
    taskQueue: settings.taskQueue,
    identity: `${IDENTITY_PREFIX}@${hostname()}/${process.pid}`,
    activities: createActivities({
      modelsDir: settings.modelsDir,
      connectionUrl(id: string): string {
        const url = settings.connections[id];
        if (!url) {
          throw ApplicationFailure.nonRetryable(
            `connection ${id} is not one this worker may write to`,
            'FailedPreconditionError',
          );
        }
        return url;
      },
    }),
    dataConverter: {
      payloadConverterPath: require.resolve('./payload-converter'),
      payloadCodecs: [new AesGcmCodec(parseKey(settings.codecKey))],
      failureConverterPath: require.resolve('./payload-converter'),
    },
    maxConcurrentActivityTaskExecutions: MAX_CONCURRENT_ACTIVITIES,
  });
  console.log(`worker ready: task queue ${settings.taskQueue}, models in ${settings.modelsDir}`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
