// The TypeScript codec against the vectors the Python codec sealed
// (tests/vectors/codec_vectors.json); the Python test seals and opens through codec-cli.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { AesGcmCodec, ENCODING, parseKey } from '../codec';
import { fromJson, JsonPayload } from '../codec-cli';

interface Vector {
  name: string;
  key: string;
  payload: JsonPayload;
  ciphertext: JsonPayload;
}

const VECTORS = path.resolve(__dirname, '../../../../tests/vectors/codec_vectors.json');
const cases: Vector[] = JSON.parse(readFileSync(VECTORS, 'utf8')).cases;

function same(actual: ReturnType<typeof fromJson>, expected: ReturnType<typeof fromJson>): void {
  const bytes = (p: typeof actual) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('hex')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('hex'),
  });
  assert.deepEqual(bytes(actual), bytes(expected));
}

test('the vectors cover empty and large data', () => {
  const sizes = cases.map((c) => Buffer.from(c.payload.data, 'base64').length);
  assert.ok(sizes.includes(0));
  assert.ok(Math.max(...sizes) >= 32_000);
});

for (const vector of cases) {
  test(`opens the Python ciphertext: ${vector.name}`, async () => {
    const codec = new AesGcmCodec(parseKey(vector.key));
    const [opened] = await codec.decode([fromJson(vector.ciphertext)]);
    same(opened, fromJson(vector.payload));
  });

  test(`seals with the key id Python writes and opens it again: ${vector.name}`, async () => {
    const codec = new AesGcmCodec(parseKey(vector.key));
    const [sealed] = await codec.encode([fromJson(vector.payload)]);
    const python = fromJson(vector.ciphertext);
    assert.equal(Buffer.from(sealed.metadata!.encoding!).toString(), ENCODING);
    assert.deepEqual(sealed.metadata!['encryption-key-id'], python.metadata!['encryption-key-id']);
    const [opened] = await codec.decode([sealed]);
    same(opened, fromJson(vector.payload));
  });
}

test('a tampered ciphertext fails its integrity check', async () => {
  const sealed = fromJson(cases[1].ciphertext);
  const data = Buffer.from(sealed.data!);
  data[data.length - 1] ^= 1;
  const codec = new AesGcmCodec(parseKey(cases[1].key));
  await assert.rejects(codec.decode([{ ...sealed, data }]), /integrity/);
});

test('a ciphertext cut shorter than a nonce and a tag fails for good, as a tampered one', async () => {
  const sealed = fromJson(cases[1].ciphertext);
  const codec = new AesGcmCodec(parseKey(cases[1].key));
  for (const length of [0, 5, 27]) {
    const data = Buffer.from(sealed.data!).subarray(0, length);
    await assert.rejects(codec.decode([{ ...sealed, data }]), (err) => {
      assert.ok(err instanceof ApplicationFailure && err.nonRetryable, `${err}`);
      assert.match(err.message, /integrity/);
      return true;
    });
  }
});

test('a ciphertext of another key is refused by name', async () => {
  const codec = new AesGcmCodec(parseKey(cases[0].key));
  await assert.rejects(codec.decode([fromJson(cases[1].ciphertext)]), /another codec key/);
});

test('a payload without the codec encoding passes through', async () => {
  const plain = fromJson(cases[1].payload);
  const [opened] = await new AesGcmCodec(parseKey(cases[0].key)).decode([plain]);
  assert.equal(opened, plain);
});

test('a key that is not 32 bytes is refused', () => {
  assert.throws(() => parseKey('c2hvcnQ'), /32 bytes/);
});
