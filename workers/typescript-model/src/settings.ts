// The worker's settings, from the same VEILSYNC_* environment the Python workers read.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TASK_QUEUE } from './names';

export interface Settings {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  /** The Temporal payload codec key (urlsafe base64), shared by every process of a stack. */
  codecKey: string;
  modelsDir: string;
  /** Destination connection id to database URL: only the destinations this worker may write. */
  connections: Record<string, string>;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const dataDir = env.VEILSYNC_DATA_DIR || '.veilsync';
  const connectionsFile = env.VEILSYNC_CONNECTIONS_FILE;
  return {
    temporalAddress: env.VEILSYNC_TEMPORAL_ADDRESS || '127.0.0.1:7233',
    temporalNamespace: env.VEILSYNC_TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.VEILSYNC_ONNX_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    codecKey: env.VEILSYNC_CODEC_KEY || readFileSync(path.join(dataDir, 'codec.key'), 'utf8'),
    modelsDir: env.VEILSYNC_MODELS_DIR || path.join(dataDir, 'models'),
    connections: connectionsFile ? JSON.parse(readFileSync(connectionsFile, 'utf8')) : {},
  };
}
