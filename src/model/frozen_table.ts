/**
 * Frozen embedding and output-head matrices kept as the checkpoint stores them (F32, F16 or
 * BF16) in JavaScript memory, outside the wasm heap, whose 4 GiB a large vocabulary would
 * otherwise fill (DeepSeek-Coder-1.3B: two 32256 x 2048 tables, 264 MB in bf16, 528 MB widened).
 * Only what an operation needs is widened to float32 and put on the heap: the looked-up rows of
 * an embedding, one vocabulary tile of a head at a time (again in the backward pass). With native
 * kernels the addon does both without widening in JavaScript: the head's products widen tiles of
 * rows into a per-thread buffer (../native/table_matmul), and looked-up rows are widened straight
 * onto the heap. Widening 16-bit floats to float32 is exact, so results equal those of a float32
 * copy.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TensorEntry } from "../safetensors/safetensors";
import { toFloat32 } from "../safetensors/float16";
import type { Linear } from "./linear";
import { transposeFlagsAreFast } from "../backend/backend";
import { type TableOperand, tableGather, tableMatMul } from "../native/table_matmul";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** Vocabulary rows widened at once by a head: a 4096 x 2048 tile is 32 MiB of float32. */
const HEAD_TILE_ELEMENTS = 4096 * 2048;

export class FrozenTable {
  readonly rows: number;
  readonly cols: number;
  /** The stored bytes, row-major, 2 or 4 bytes per element. */
  private readonly data: Uint8Array;
  private readonly dtype: "F32" | "F16" | "BF16";
  /** Rows per head tile. */
  private readonly tileRows: number;

  /** `tileElements`: how many elements a head widens at once (default 4096 x 2048). */
  constructor(entry: TensorEntry, source: string, tileElements = HEAD_TILE_ELEMENTS) {
    if (entry.shape.length !== 2) {
      throw new Error(`${source}: a table needs a 2-D tensor, got [${entry.shape}]`);
    }
    if (entry.dtype !== "F32" && entry.dtype !== "F16" && entry.dtype !== "BF16") {
      throw new Error(`${source}: a table must be F32, F16 or BF16, got ${entry.dtype}`);
    }
    [this.rows, this.cols] = entry.shape;
    this.dtype = entry.dtype;
    this.data = entry.data;
    this.tileRows = Math.max(1, Math.floor(tileElements / this.cols));
  }

  /** The table as the native kernels read it. */
  get operand(): TableOperand {
    return { rows: this.rows, cols: this.cols, dtype: this.dtype, data: this.data };
  }

  /** Bytes held (outside the heap). */
  bytes(): number {
    return this.data.byteLength;
  }

  /** Rows [start, end) widened to float32, row-major. */
  widen(start: number, end: number): Float32Array {
    const size = this.dtype === "F32" ? 4 : 2;
    const row = this.cols * size;
    const slice = this.data.subarray(start * row, end * row);
    return toFloat32({ dtype: this.dtype, shape: [end - start, this.cols], data: slice });
  }

  /** Rows at `ids` as a [ids.length, cols] tensor (an embedding lookup). */
  gather(ids: ArrayLike<number>): tf.Tensor2D {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(Number.isInteger(id) && id >= 0 && id < this.rows)) {
        throw new Error(`token id ${id} is outside the table's ${this.rows} rows`);
      }
    }
    const native = tableGather(this.operand, Int32Array.from(ids));
    if (native !== null) return native;
    const out = new Float32Array(ids.length * this.cols);
    for (let i = 0; i < ids.length; i++) out.set(this.widen(ids[i], ids[i] + 1), i * this.cols);
    return tf.tensor2d(out, [ids.length, this.cols]);
  }

  /** The whole table as one float32 tensor (for saving or merging; large). */
  toTensor(): tf.Tensor2D {
    return tf.tensor2d(this.widen(0, this.rows), [this.rows, this.cols]);
  }

  /** Start rows of the vocabulary tiles a head multiplies by, one at a time. */
  tiles(): number[] {
    const starts: number[] = [];
    for (let s = 0; s < this.rows; s += this.tileRows) starts.push(s);
    return starts;
  }

  /** Rows of the tile starting at `start`, as a [n, cols] tensor. */
  tile(start: number): tf.Tensor2D {
    const end = Math.min(this.rows, start + this.tileRows);
    return tf.tensor2d(this.widen(start, end), [end - start, this.cols]);
  }
}

/**
 * An output head over a frozen table W [vocab, d]: logits = h W^T, computed tile by tile over
 * the vocabulary; the backward pass widens each tile again (dh = sum of dy_tile W_tile), so no
 * float copy of W outlives a tile. With native kernels the addon's table product does the same
 * with tiles it widens itself, in both directions (the plain path below is then unused).
 */
export class TableHead implements Linear {
  readonly outFeatures: number;
  readonly inFeatures: number;

  constructor(readonly table: FrozenTable) {
    this.outFeatures = table.rows;
    this.inFeatures = table.cols;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tableMatMul(x, this.table.operand) ?? this.applyTiled(x);
  }

  /** The plain path: each vocabulary tile widened in JavaScript, then multiplied on the heap. */
  private applyTiled(x: tf.Tensor2D): tf.Tensor2D {
    const table = this.table;
    const flags = transposeFlagsAreFast();
    const f = tf.customGrad(((input: tf.Tensor2D) => ({
      value: tf.concat(
        table.tiles().map((start) =>
          tf.tidy(() => {
            const w = table.tile(start);
            return flags ? tf.matMul(input, w, false, true) : tf.matMul(input, tf.transpose(w));
          }),
        ),
        1,
      ),
      gradFunc: (dy: tf.Tensor2D) => {
        let dx: tf.Tensor2D = tf.zeros([dy.shape[0], table.cols]);
        for (const start of table.tiles()) {
          const next = tf.tidy(() => {
            const w = table.tile(start);
            const dyTile = tf.slice(dy, [0, start], [-1, w.shape[0]]);
            return tf.add(dx, tf.matMul(dyTile, w)) as tf.Tensor2D;
          });
          dx.dispose();
          dx = next;
        }
        return [dx];
      },
    })) as CustomGradFn);
    return f(x) as tf.Tensor2D;
  }

  weight(): tf.Tensor2D {
    return this.table.toTensor();
  }

  bytes(): number {
    return this.table.bytes();
  }

  dispose(): void {
    // The table is JavaScript memory: nothing on the heap to free.
  }
}
