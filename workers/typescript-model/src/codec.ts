// The AES-256-GCM payload codec, byte-compatible with services/common/codec.py: the whole
// serialized Payload is sealed, data = 12-byte nonce + ciphertext + 16-byte tag, and metadata
// names the encoding and the key's id (the first 8 bytes of sha256("veilsync-codec-key-id" +
// key), lowercase hex), so a rotated key is told apart from a corrupt payload.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ApplicationFailure, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING = 'binary/veilsync-aes256gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 8;
const ProtoPayload = temporal.api.common.v1.Payload;

/** The key as Python's parse_key reads it: urlsafe base64, padding optional, 32 bytes. */
export function parseKey(text: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length !== 32) {
    throw new Error('the codec key must decode to 32 bytes');
  }
  return key;
}

export function keyId(key: Buffer): string {
  const digest = createHash('sha256').update('veilsync-codec-key-id').update(key).digest();
  return digest.subarray(0, KEY_ID_BYTES).toString('hex');
}

export class AesGcmCodec implements PayloadCodec {
  private readonly keyId: Buffer;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) {
      throw new Error('the codec key must be 32 bytes');
    }
    this.keyId = Buffer.from(keyId(key));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  encrypt(payload: Payload): Payload {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const plain = ProtoPayload.encode(payload).finish();
    const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: Buffer.from(ENCODING), 'encryption-key-id': this.keyId },
      data: Buffer.concat([nonce, sealed]),
    };
  }

  decrypt(payload: Payload): Payload {
    const metadata = payload.metadata ?? {};
    if (text(metadata.encoding) !== ENCODING) {
      return payload; // written before the codec, or by a process without one
    }
    if (text(metadata['encryption-key-id']) !== this.keyId.toString()) {
      throw ApplicationFailure.nonRetryable(
        'a payload was encrypted with another codec key',
        'FailedPreconditionError',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    let plain: Buffer;
    try {
      if (data.length < NONCE_BYTES + TAG_BYTES) {
        throw new Error('too short to hold a nonce and a tag');
      }
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        'a payload failed its integrity check',
        'FailedPreconditionError',
      );
    }
    const decoded = ProtoPayload.decode(plain);
    return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
  }
}

function text(value: Uint8Array | null | undefined): string {
  return value ? Buffer.from(value).toString() : '';
}
