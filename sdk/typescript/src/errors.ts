import { Code, ConnectError } from "@connectrpc/connect";

/** The gRPC status code's canonical name, such as "NOT_FOUND". */
export type StatusName = Uppercase<string>;

/**
 * Every failed call raises this: the gRPC status code and the server's message, without the
 * transport's wrapping. `code` is the numeric gRPC code (`Code.NotFound` is 5).
 */
export class VeilsyncError extends Error {
  override readonly name = "VeilsyncError";

  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** "NOT_FOUND", "INVALID_ARGUMENT", ...: the name gRPC tools print. */
  get status(): StatusName {
    // Connect spells Code.Canceled the American way; gRPC's name is CANCELLED.
    const name = this.code === Code.Canceled ? "Cancelled" : Code[this.code];
    return name.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase() as StatusName;
  }

  override toString(): string {
    return `${this.status}: ${this.message}`;
  }

  /** The error as a VeilsyncError: ConnectError's code and raw message kept, anything else
   * (a socket reset, a bug) wrapped as UNKNOWN. */
  static from(err: unknown): VeilsyncError {
    if (err instanceof VeilsyncError) {
      return err;
    }
    const connect = ConnectError.from(err);
    return new VeilsyncError(connect.code, connect.rawMessage, { cause: err });
  }
}
