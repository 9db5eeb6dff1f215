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
  const wantsTls = Boolean(tls || caFile);
  if (address.startsWith("http://") && wantsTls) {
    // The key would go out in clear text; the caller asked for TLS.
    throw new Error("tls or caFile was given with an http:// address: use https://");
  }
  if (/^https?:\/\//.test(address)) {
    return address;
  }
  return `${wantsTls ? "https" : "http"}://${address}`;
}

function bearer(apiKey: string): Interceptor {
  const key = apiKey.trim();
  if (!key) {
    throw new Error("no API key: pass apiKey");
  }
  return (next) => async (req) => {
    req.header.set("authorization", `Bearer ${key}`);
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
