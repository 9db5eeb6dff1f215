// Against a live stack: tests/e2e/test_sdk_typescript.py starts one, loads the shop into
// VEILSYNC_SOURCE_URL and runs `npm test` with these variables set.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import {
  byName,
  Code,
  createClient,
  RunStatus,
  TableSyncStatus,
  VeilsyncError,
  type JobRunProgress,
} from "../index.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/e2e/test_sdk_typescript.py`);
  }
  return value;
}

const address = env("VEILSYNC_ADDRESS");
const client = createClient({ address, apiKey: env("VEILSYNC_API_KEY") });
const tag = randomUUID().slice(0, 8);

test("a job created through the SDK runs, and its progress streams to the end", async () => {
  const [source, destination] = [`ts-prod-${tag}`, `ts-qa-${tag}`];
  await client.connections.createConnection({ name: source, url: env("VEILSYNC_SOURCE_URL") });
  await client.connections.createConnection({
    name: destination,
    url: env("VEILSYNC_DESTINATION_URL"),
  });
  const check = await client.connections.checkConnection({
    target: { case: "connection", value: byName(source) },
  });
  assert.ok(check.reachable, check.message);

  const { job } = await client.jobs.createJob({
    job: {
      name: `ts-shop-${tag}`,
      source: { connection: source },
      destinations: [{ connection: destination, initSchema: true, truncateBeforeInsert: true }],
      mappings: [
        {
          table: "public.customers",
          columns: {
            email: { config: { case: "transformEmail", value: { preserveDomain: true } } },
          },
        },
      ],
    },
  });
  assert.ok(job?.id);

  const { run } = await client.jobs.triggerJobRun({ job: byName(`ts-shop-${tag}`) });
  assert.ok(run?.id);
  const seen: JobRunProgress[] = [];
  const finished = await client.runs.waitForRun(run.id, (progress) => seen.push(progress));

  assert.equal(finished.status, RunStatus.SUCCEEDED, finished.failureMessage);
  assert.ok(seen.length > 0, "no progress was streamed");
  const last = seen[seen.length - 1];
  assert.equal(last.status, RunStatus.SUCCEEDED);
  assert.deepEqual(
    last.tables.map((table) => [table.table, table.status]).sort(),
    ["public.customers", "public.order_items", "public.orders"].map((name) => [
      name,
      TableSyncStatus.SUCCEEDED,
    ]),
  );
  assert.ok(last.rowsWritten > 0n && last.rowsWritten === last.rowsRead);
});

test("a missing job is a VeilsyncError with NOT_FOUND", async () => {
  await assert.rejects(client.jobs.getJob({ job: byName(`no-such-job-${tag}`) }), (err) => {
    assert.ok(err instanceof VeilsyncError, `${err}`);
    assert.equal(err.code, Code.NotFound);
    assert.equal(err.status, "NOT_FOUND");
    assert.match(err.message, new RegExp(`no-such-job-${tag}`));
    return true;
  });
});

test("a wrong API key is refused with UNAUTHENTICATED", async () => {
  const stranger = createClient({ address, apiKey: "not-a-key" });
  await assert.rejects(stranger.transformers.getSystemTransformers({}), (err) => {
    assert.ok(err instanceof VeilsyncError, `${err}`);
    assert.equal(err.status, "UNAUTHENTICATED");
    return true;
  });
});

test("a missing run's progress stream fails with NOT_FOUND, not a transport error", async () => {
  await assert.rejects(client.runs.waitForRun(`no-such-run-${tag}`), (err) => {
    assert.ok(err instanceof VeilsyncError, `${err}`);
    assert.equal(err.code, Code.NotFound);
    return true;
  });
});

test("system transformers are listed", async () => {
  const { transformers } = await client.transformers.getSystemTransformers({});
  assert.ok(transformers.some((t) => t.name === "transform_email"));
});
