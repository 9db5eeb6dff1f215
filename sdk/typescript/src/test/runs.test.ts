// waitForRun's reconnects against a real gRPC server in this process, whose progress stream
// fails or ends early as each test says. Needs no stack: `npm run test:unit`.
import assert from "node:assert/strict";
import { createServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createClient, JobService, Runs, RunStatus, VeilsyncError } from "../index.js";
import { serviceClient } from "../service.js";
import { createTransport } from "../transport.js";

/** What the next WatchJobRunProgress call does: fail with a code, or stream these statuses. */
type Stream = Code | RunStatus[];

let streams: Stream[] = [];
let watchCalls = 0;
const sessions = new Set<Http2Session>();

const server = createServer(
  connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(JobService, {
        async *watchJobRunProgress() {
          watchCalls++;
          const next = streams.shift() ?? Code.Unavailable;
          if (typeof next === "number") {
            throw new ConnectError("the stream was cut", next);
          }
          for (const status of next) {
            yield { progress: { status } };
          }
        },
        async getJobRun({ runId }) {
          return { run: { id: runId, status: RunStatus.SUCCEEDED } };
        },
      });
    },
  }),
);
server.on("session", (session) => sessions.add(session));

let runs: Runs;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const transport = createTransport({ address: `127.0.0.1:${port}`, apiKey: "test-key" });
  runs = new Runs(serviceClient(JobService, transport), { attempts: 2, delayMs: 1 });
});

after(() => {
  sessions.forEach((session) => session.destroy());
  server.close();
});

async function wait(...next: Stream[]): Promise<{ run: unknown; seen: RunStatus[] }> {
  streams = next;
  watchCalls = 0;
  const seen: RunStatus[] = [];
  const run = await runs.waitForRun("run-1", (progress) => seen.push(progress.status));
  return { run, seen };
}

test("a stream dropped with UNAVAILABLE is opened again and followed to the end", async () => {
  const { run, seen } = await wait(Code.Unavailable, [RunStatus.RUNNING, RunStatus.SUCCEEDED]);
  assert.equal(watchCalls, 2);
  assert.deepEqual(seen, [RunStatus.RUNNING, RunStatus.SUCCEEDED]);
  assert.equal((run as { status: RunStatus }).status, RunStatus.SUCCEEDED);
});

test("a stream that ends before the run does is opened again", async () => {
  const { seen } = await wait([RunStatus.RUNNING], [RunStatus.SUCCEEDED]);
  assert.equal(watchCalls, 2);
  assert.deepEqual(seen, [RunStatus.RUNNING, RunStatus.SUCCEEDED]);
});

test("progress in between resets the count of reconnects", async () => {
  // Two drops, then a stream that ends early (a third failure, were the count not reset).
  await wait(Code.Unavailable, Code.Unavailable, [RunStatus.RUNNING], Code.Unavailable, [
    RunStatus.SUCCEEDED,
  ]);
  assert.equal(watchCalls, 5);
});

test("reconnects give up with the last error after the attempts allowed", async () => {
  await assert.rejects(wait(), (err) => {
    assert.ok(err instanceof VeilsyncError, `${err}`);
    assert.equal(err.code, Code.Unavailable);
    return true;
  });
  assert.equal(watchCalls, 3);
});

test("an error other than UNAVAILABLE is not retried", async () => {
  await assert.rejects(wait(Code.NotFound), (err) => {
    assert.ok(err instanceof VeilsyncError && err.code === Code.NotFound, `${err}`);
    return true;
  });
  assert.equal(watchCalls, 1);
});

test("TLS asked for over an http:// address is refused rather than ignored", () => {
  assert.throws(
    () => createClient({ address: "http://127.0.0.1:1", apiKey: "k", tls: true }),
    /https/,
  );
});

test("an empty API key is refused", () => {
  assert.throws(() => createClient({ address: "127.0.0.1:1", apiKey: " " }), /API key/);
});
