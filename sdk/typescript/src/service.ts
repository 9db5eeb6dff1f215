import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { VeilsyncError } from "./errors.js";

type Call = (...args: unknown[]) => unknown;

async function* translated(messages: AsyncIterable<unknown>): AsyncIterable<unknown> {
  try {
    yield* messages;
  } catch (err) {
    throw VeilsyncError.from(err);
  }
}

function translating(call: Call, streams: boolean): Call {
  if (streams) {
    return (...args) => translated(call(...args) as AsyncIterable<unknown>);
  }
  return async (...args) => {
    try {
      return await call(...args);
    } catch (err) {
      throw VeilsyncError.from(err);
    }
  };
}

/**
 * The service's typed client, in which every failure, unary or mid-stream, is a VeilsyncError:
 * the one place errors cross into the SDK. (Not an interceptor: connect wraps whatever an
 * interceptor throws back into a ConnectError.)
 */
export function serviceClient<S extends DescService>(service: S, transport: Transport): Client<S> {
  const client = createClient(service, transport) as unknown as Record<string, Call>;
  for (const method of service.methods) {
    const kind = method.methodKind;
    const streams = kind === "server_streaming" || kind === "bidi_streaming";
    client[method.localName] = translating(client[method.localName], streams);
  }
  return client as unknown as Client<S>;
}
