// Payloads as the Python workers write them: a proto message is `json/protobuf`, its proto3
// JSON mapping (camelCase names, int64 as strings) with the message's full name in the
// "messageType" metadata. Activities receive that JSON as a plain object and return a
// ProtoJson naming the message type of what they return.
import {
  CompositePayloadConverter,
  DefaultFailureConverter,
  JsonPayloadConverter,
  Payload,
  PayloadConverterWithEncoding,
  UndefinedPayloadConverter,
} from '@temporalio/common';

export const JSON_PROTOBUF = 'json/protobuf';

/** A proto message in its proto3 JSON mapping, with its full type name. */
export class ProtoJson {
  constructor(
    readonly messageType: string,
    readonly json: object,
  ) {}
}

export class JsonProtobufConverter implements PayloadConverterWithEncoding {
  readonly encodingType = JSON_PROTOBUF;

  toPayload(value: unknown): Payload | undefined {
    if (!(value instanceof ProtoJson)) {
      return undefined;
    }
    return {
      metadata: {
        encoding: Buffer.from(JSON_PROTOBUF),
        messageType: Buffer.from(value.messageType),
      },
      data: Buffer.from(JSON.stringify(value.json)),
    };
  }

  fromPayload<T>(payload: Payload): T {
    const data = payload.data ?? new Uint8Array();
    return (data.length ? JSON.parse(Buffer.from(data).toString()) : {}) as T;
  }
}

export const payloadConverter = new CompositePayloadConverter(
  new UndefinedPayloadConverter(),
  new JsonProtobufConverter(),
  new JsonPayloadConverter(),
);

// Failure messages may quote row values: encrypted like payloads, as the Python workers do.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
