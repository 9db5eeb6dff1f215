// An uploaded ONNX model, sampled as services/ml_worker/uploads.py samples it: inputs a row
// count and a seed (int64 scalars), outputs one tensor of [row_count] values per column. The
// columns are named by the graph's output names.
import * as ort from 'onnxruntime-web';
import { ApplicationFailure } from '@temporalio/common';

// One thread: Node has no cross-origin isolation to share WASM memory between workers, and
// the worker runs one sampling at a time per activity slot anyway.
ort.env.wasm.numThreads = 1;

export type Value = number | string | boolean | null;
export type Columns = Map<string, Value[]>;

export class OnnxModel {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(bytes: Uint8Array): Promise<OnnxModel> {
    return new OnnxModel(await ort.InferenceSession.create(bytes));
  }

  get columns(): readonly string[] {
    return this.session.outputNames;
  }

  /** `rows` values per output column, drawn with `seed`. */
  async sample(rows: number, seed: bigint): Promise<Columns> {
    const [rowsInput, seedInput] = this.session.inputNames;
    const feeds: Record<string, ort.Tensor> = {
      [rowsInput]: new ort.Tensor('int64', BigInt64Array.of(BigInt(rows)), []),
    };
    if (seedInput !== undefined) {
      feeds[seedInput] = new ort.Tensor('int64', BigInt64Array.of(seed), []);
    }
    const outputs = await this.session.run(feeds);
    const columns: Columns = new Map();
    for (const name of this.session.outputNames) {
      const tensor = outputs[name];
      if (tensor.size !== rows) {
        throw ApplicationFailure.nonRetryable(
          `output ${JSON.stringify(name)} has shape [${tensor.dims.join(', ')}], expected [${rows}]`,
          'InvalidArgumentError',
        );
      }
      columns.set(name, values(tensor));
    }
    return columns;
  }
}

function values(tensor: ort.Tensor): Value[] {
  const data = tensor.data as ArrayLike<number | bigint | string>;
  if (tensor.type === 'bool') {
    return Array.from(data as ArrayLike<number>, (v) => v !== 0);
  }
  // int64 stays exact as text; PostgreSQL parses it into any numeric column.
  return Array.from(data, (v) => (typeof v === 'bigint' ? v.toString() : v));
}
