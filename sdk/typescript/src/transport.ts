import { readFileSync } from "node:fs";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

/** Where the API listens and how to reach it. */
export interface ClientOptions {
  /** "host:port", as the CLI's --api takes it (an http:// or https:// URL also works). */
  address: string;
  /** Sent as `authorization: Bearer <key>` on every call. */
  apiKey: string;
  /** Speak TLS; implied by `caFile`. */
  tls?: boolean;
  /** PEM file of the CA that signed the API's certificate, when it is not a public one. */
  caFile?: string;
}

function baseUrl({ address, tls, caFile }: ClientOptions): string {
  if (/^https?:\/\//.test(address)) {
    return address;
  }
  return `${tls || caFile ? "https" : "http"}://${address}`;
}

function bearer(apiKey: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

/** gRPC over HTTP/2 to the API, every call authenticated. */
export function createTransport(options: ClientOptions): Transport {
  return createGrpcTransport({
    baseUrl: baseUrl(options),
    nodeOptions: options.caFile ? { ca: readFileSync(options.caFile) } : {},
    interceptors: [bearer(options.apiKey)],
  });
}
