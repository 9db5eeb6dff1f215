// `VEILSYNC_CODEC_KEY=... node dist/codec-cli.js encrypt|decrypt`: one payload through the
// codec, for the Python test of the shared vectors. Stdin and stdout:
// {"metadata": {name: base64}, "data": base64}.
import { readFileSync } from 'node:fs';
import { Payload } from '@temporalio/common';
import { AesGcmCodec, parseKey } from './codec';

export type JsonPayload = { metadata: Record<string, string>; data: string };

export function fromJson(json: JsonPayload): Payload {
  const metadata = Object.fromEntries(
    Object.entries(json.metadata).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
  );
  return { metadata, data: Buffer.from(json.data, 'base64') };
}

export function toJson(payload: Payload): JsonPayload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([name, value]) => [
      name,
      Buffer.from(value).toString('base64'),
    ]),
  );
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}

if (require.main === module) {
  const command = process.argv[2];
  const codec = new AesGcmCodec(parseKey(process.env.VEILSYNC_CODEC_KEY ?? ''));
  const payload = fromJson(JSON.parse(readFileSync(0, 'utf8')));
  const out = command === 'encrypt' ? codec.encrypt(payload) : codec.decrypt(payload);
  process.stdout.write(JSON.stringify(toJson(out)));
}
