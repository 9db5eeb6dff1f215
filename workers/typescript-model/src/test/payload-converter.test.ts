// json/protobuf payloads read and written as the Python SDK does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SAMPLE_MODEL_ACTIVITY_OUTPUT } from '../names';
import { payloadConverter, ProtoJson } from '../payload-converter';

test('a ProtoJson is written as json/protobuf with its message type', () => {
  const payload = payloadConverter.toPayload(
    new ProtoJson(SAMPLE_MODEL_ACTIVITY_OUTPUT, { result: { rowsWritten: '42' } }),
  );
  assert.equal(Buffer.from(payload.metadata!.encoding!).toString(), 'json/protobuf');
  assert.equal(Buffer.from(payload.metadata!.messageType!).toString(), SAMPLE_MODEL_ACTIVITY_OUTPUT);
  assert.equal(Buffer.from(payload.data!).toString(), '{"result":{"rowsWritten":"42"}}');
});

test('a json/protobuf payload from Python is read as its JSON mapping', () => {
  // Python's JSONProtoPayloadConverter writes sorted, compact MessageToDict JSON.
  const data = '{"request":{"modelId":"m1","rowCount":"25","references":[{"columns":["a"]}]}}';
  const value = payloadConverter.fromPayload({
    metadata: {
      encoding: Buffer.from('json/protobuf'),
      messageType: Buffer.from('veilsync.temporal.v1.SampleModelInput'),
    },
    data: Buffer.from(data),
  });
  assert.deepEqual(value, {
    request: { modelId: 'm1', rowCount: '25', references: [{ columns: ['a'] }] },
  });
});

test('an empty message is an empty object', () => {
  const value = payloadConverter.fromPayload({
    metadata: { encoding: Buffer.from('json/protobuf') },
    data: new Uint8Array(),
  });
  assert.deepEqual(value, {});
});

test('other values keep the default JSON encoding', () => {
  const payload = payloadConverter.toPayload({ a: 1 });
  assert.equal(Buffer.from(payload.metadata!.encoding!).toString(), 'json/plain');
});
