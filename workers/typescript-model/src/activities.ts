// The "sample_model" activity of the ML contract for uploaded ONNX models: it reads the model
// from the artifact store, samples it in batches and writes the rows into the destination
// table, drawing foreign-key columns from the destination's parent rows.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { columnTypes, defaultSchema, insertRows, parentKeys, TableName } from './destination';
import { SAMPLE_MODEL_ACTIVITY, SAMPLE_MODEL_ACTIVITY_OUTPUT } from './names';
import { Columns, OnnxModel, Value } from './onnx-model';
import { ProtoJson } from './payload-converter';

export const SAMPLE_BATCH_ROWS = 10_000; // as services/ml_worker/activities.py
const MAX_PREVIEW_ROWS = 1000;
const UPLOAD_FILE = 'upload'; // services/common/model_files.py: the uploaded file, byte for byte
const SAFE_ID = /^[A-Za-z0-9_-]+$/;

/** SampleModelInput in its proto3 JSON mapping: fields left at their defaults are absent. */
export interface SampleModelInput {
  request: {
    accountId?: string;
    modelId?: string;
    destinationConnectionId?: string;
    schema?: string;
    table?: string;
    rowCount?: string;
    seed?: string;
    preview?: boolean;
    references?: {
      columns?: string[];
      referencedSchema?: string;
      referencedTable?: string;
      referencedColumns?: string[];
    }[];
    nullColumns?: string[];
  };
}

/** Where the worker finds models and the destinations it may write to. */
export interface Ports {
  /** The local artifact store: the Python workers' models_dir. */
  modelsDir: string;
  /** The database URL of a destination connection, by id. */
  connectionUrl(connectionId: string): string;
}

interface Reference {
  columns: string[];
  keys: Value[][];
}

export function createActivities(ports: Ports) {
  return {
    async [SAMPLE_MODEL_ACTIVITY](input: SampleModelInput): Promise<ProtoJson> {
      const req = input.request;
      const rowCount = Number(req.rowCount ?? '0');
      const seed = BigInt(req.seed ?? '0');
      const model = await OnnxModel.load(await readModel(ports.modelsDir, req));
      if (req.preview) {
        const sampled = await model.sample(Math.min(rowCount, MAX_PREVIEW_ROWS), seed);
        return result({ columns: [...sampled.keys()], rows: previewRows(sampled) });
      }
      const client = new Client({ connectionString: ports.connectionUrl(req.destinationConnectionId ?? '') });
      // A connection lost between queries is emitted as 'error': unheard, it would crash the
      // worker. The next query rejects with it, failing this attempt only.
      client.on('error', () => undefined);
      await client.connect();
      try {
        const table = { schema: req.schema || (await defaultSchema(client)), name: req.table ?? '' };
        const types = await columnTypes(client, table);
        const references: Reference[] = [];
        for (const r of req.references ?? []) {
          const parent = { schema: r.referencedSchema ?? '', name: r.referencedTable ?? '' };
          const keys = await parentKeys(client, parent, r.referencedColumns ?? []);
          references.push({ columns: r.columns ?? [], keys });
        }
        const nulls = new Set(req.nullColumns ?? []);
        const columns = writtenColumns(model.columns, references, nulls, types, table);
        await client.query('BEGIN');
        let written = 0;
        for (let offset = 0; offset < rowCount; offset += SAMPLE_BATCH_ROWS) {
          const rows = Math.min(SAMPLE_BATCH_ROWS, rowCount - offset);
          const batchSeed = seed + BigInt(offset);
          const sampled = await model.sample(rows, batchSeed);
          drawReferences(sampled, references, rows, batchSeed);
          for (const column of nulls) sampled.set(column, new Array<Value>(rows).fill(null));
          await insertRows(client, table, columns, tuples(sampled, columns, types, rows));
          written += rows;
          Context.current().heartbeat(written);
          // Cancelled, or timed out and so retried elsewhere: never commit beside the retry.
          Context.current().cancellationSignal.throwIfAborted();
        }
        await client.query('COMMIT');
        return result({ rowsWritten: String(written) });
      } finally {
        await client.end();
      }
    },
  };
}

async function readModel(modelsDir: string, req: SampleModelInput['request']): Promise<Uint8Array> {
  const account = req.accountId ?? '';
  const model = req.modelId ?? '';
  if (!SAFE_ID.test(account) || !SAFE_ID.test(model)) {
    throw ApplicationFailure.nonRetryable('the model id is not a model store key', 'InvalidArgumentError');
  }
  try {
    return await readFile(path.join(modelsDir, account, model, UPLOAD_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw err; // unreadable for now (permissions, too many open files): worth a retry
    }
    throw ApplicationFailure.nonRetryable(
      `model ${model} has no uploaded ONNX file in the model store`,
      'NotFoundError',
    );
  }
}

/** The model's outputs, the foreign keys and the NULL columns: each a destination column. */
function writtenColumns(
  outputs: readonly string[],
  references: Reference[],
  nulls: Set<string>,
  types: Map<string, string>,
  table: TableName,
): string[] {
  const columns = [...new Set([...outputs, ...references.flatMap((r) => r.columns), ...nulls])];
  const missing = columns.filter((column) => !types.has(column));
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `${table.schema}.${table.name} has no column ${missing.join(', ')} the model outputs`,
      'InvalidArgumentError',
    );
  }
  return columns;
}

/** Each row's foreign-key columns set from one parent key tuple, picked with the seed. */
function drawReferences(sampled: Columns, references: Reference[], rows: number, seed: bigint): void {
  const random = mulberry32(Number(BigInt.asUintN(32, seed)));
  for (const reference of references) {
    const drawn = reference.columns.map(() => new Array<Value>(rows).fill(null));
    if (reference.keys.length) {
      for (let row = 0; row < rows; row++) {
        const key = reference.keys[Math.floor(random() * reference.keys.length)];
        key.forEach((value, c) => (drawn[c][row] = value));
      }
    }
    reference.columns.forEach((column, c) => sampled.set(column, drawn[c]));
  }
}

function tuples(sampled: Columns, columns: string[], types: Map<string, string>, rows: number): Value[][] {
  const converted = columns.map((column) => {
    const values = sampled.get(column) ?? [];
    return isTime(types.get(column) ?? '') ? values.map(epochSeconds) : values;
  });
  return Array.from({ length: rows }, (_, row) => converted.map((values) => values[row]));
}

/** Datetime outputs are seconds since the Unix epoch (the upload contract). */
function isTime(dataType: string): boolean {
  return dataType === 'date' || dataType.startsWith('timestamp');
}

function epochSeconds(value: Value): Value {
  return typeof value === 'number' || (typeof value === 'string' && value !== '')
    ? new Date(Number(value) * 1000).toISOString()
    : value;
}

function previewRows(sampled: Columns): Record<string, Value>[] {
  const names = [...sampled.keys()];
  const count = sampled.get(names[0])?.length ?? 0;
  return Array.from({ length: count }, (_, row) =>
    Object.fromEntries(names.map((name) => [name, plain(sampled.get(name)![row])])),
  );
}

function plain(value: Value): Value {
  // google.protobuf.Struct holds numbers as doubles; int64 text is turned back into one.
  return typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
}

function result(sampled: object): ProtoJson {
  return new ProtoJson(SAMPLE_MODEL_ACTIVITY_OUTPUT, { result: sampled });
}

/** A small seeded generator: the same seed draws the same parent keys. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
