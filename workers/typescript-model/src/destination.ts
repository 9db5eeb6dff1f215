// The destination table in PostgreSQL: its columns, the parent keys its foreign keys may take,
// and batched inserts in one transaction (so a retried attempt never doubles rows).
import { Client, escapeIdentifier } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import type { Value } from './onnx-model';

const MAX_KEY_VALUES = 100_000; // as services/ml_worker/spec.py: parent keys kept to draw from
const MAX_PARAMETERS = 60_000; // under PostgreSQL's 65535 bind parameters per statement

export interface TableName {
  schema: string;
  name: string;
}

export function qualified(table: TableName): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

/** Column name to data_type (information_schema), in table order. */
export async function columnTypes(client: Client, table: TableName): Promise<Map<string, string>> {
  const result = await client.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [table.schema, table.name],
  );
  if (result.rows.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `table ${table.schema}.${table.name} does not exist in the destination`,
      'NotFoundError',
    );
  }
  return new Map(result.rows.map((row) => [row.column_name, row.data_type]));
}

export async function defaultSchema(client: Client): Promise<string> {
  const result = await client.query<{ schema: string }>('SELECT current_schema() AS schema');
  return result.rows[0].schema;
}

/** Distinct non-null key tuples of the referenced columns, as text. */
export async function parentKeys(
  client: Client,
  table: TableName,
  columns: string[],
): Promise<Value[][]> {
  const names = columns.map(escapeIdentifier);
  const result = await client.query<Value[]>({
    text: `SELECT DISTINCT ${names.map((n) => `${n}::text`).join(', ')} FROM ${qualified(table)}
           WHERE ${names.map((n) => `${n} IS NOT NULL`).join(' AND ')} LIMIT ${MAX_KEY_VALUES}`,
    rowMode: 'array',
  });
  return result.rows;
}

/** Rows (one array per row, in `columns` order) inserted in batches. */
export async function insertRows(
  client: Client,
  table: TableName,
  columns: string[],
  rows: Value[][],
): Promise<void> {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  const names = columns.map(escapeIdentifier).join(', ');
  for (let start = 0; start < rows.length; start += perStatement) {
    const batch = rows.slice(start, start + perStatement);
    const tuples = batch.map(
      (_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO ${qualified(table)} (${names}) VALUES ${tuples.join(', ')}`,
      batch.flat(),
    );
  }
}
