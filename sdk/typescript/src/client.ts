import type { Client } from "@connectrpc/connect";
import { AccountService } from "./gen/veilsync/v1/account_pb.js";
import { ConnectionService } from "./gen/veilsync/v1/connection_pb.js";
import { JobService } from "./gen/veilsync/v1/job_pb.js";
import { ModelService } from "./gen/veilsync/v1/model_pb.js";
import { TransformerService } from "./gen/veilsync/v1/transformer_pb.js";
import { Runs } from "./runs.js";
import { serviceClient } from "./service.js";
import { createTransport, type ClientOptions } from "./transport.js";

/** One API, one connection: each service's typed methods (`jobs.createJob({job})`), and
 * `runs` for waiting on a run. Every failure is a VeilsyncError. */
export interface VeilsyncClient {
  accounts: Client<typeof AccountService>;
  connections: Client<typeof ConnectionService>;
  jobs: Client<typeof JobService>;
  runs: Runs;
  models: Client<typeof ModelService>;
  transformers: Client<typeof TransformerService>;
}

export function createClient(options: ClientOptions): VeilsyncClient {
  const transport = createTransport(options);
  const jobs = serviceClient(JobService, transport);
  return {
    accounts: serviceClient(AccountService, transport),
    connections: serviceClient(ConnectionService, transport),
    jobs,
    runs: new Runs(jobs),
    models: serviceClient(ModelService, transport),
    transformers: serviceClient(TransformerService, transport),
  };
}

/** A connection or job named by its name: `{connection: byName("prod")}`. */
export function byName(name: string): { ref: { case: "name"; value: string } } {
  return { ref: { case: "name", value: name } };
}

/** A connection or job named by its id. */
export function byId(id: string): { ref: { case: "id"; value: string } } {
  return { ref: { case: "id", value: id } };
}
