/**
 * A request body held while it streams and is verified: in memory up to a small limit, then in
 * an unlinked temporary file — nginx's client_body_buffer_size / client_body_temp, for the same
 * reason. Until its signature is checked at the end, a body is the sender's word; a forged 24 MB
 * body kept in memory costs its 24 MB plus, since node:http allocates a fresh buffer for every
 * read and V8 frees them only on its own schedule, about as much again in buffers not yet
 * collected. Spilled to a file, only the latter remains. Real deliveries are a few KB to a few
 * hundred, so they never touch the disk; the byte budget (lib/http/budget.ts) bounds what can
 * be spilled at once.
 *
 * The writes are synchronous: they go to the page cache (microseconds per chunk), and keeping
 * them in order with the hashing is simpler than a write queue.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Bytes kept in memory before the body is moved to a file. */
export const HELD_IN_MEMORY_BYTES = 1024 * 1024;
/** Size of the reads when a spilled body is read back piece by piece. */
const READ_BACK_BYTES = 1024 * 1024;

export interface HeldBody {
  readonly size: number;
  append(chunk: Uint8Array): void;
  /** The body in order, a piece at a time (each piece valid until the next is taken). */
  pieces(): Generator<Uint8Array>;
  /** The whole body in one buffer. */
  bytes(): Buffer;
  /** Drop the body and its file. Safe to call twice. */
  release(): void;
}

export interface HeldBodyOptions {
  readonly memoryBytes?: number;
  /** Where the file goes (default: the OS temp dir). */
  readonly dir?: string;
}

export function holdBody(options: HeldBodyOptions = {}): HeldBody {
  const memoryBytes = options.memoryBytes ?? HELD_IN_MEMORY_BYTES;
  let chunks: Uint8Array[] = [];
  let size = 0;
  let fd: number | undefined;
  let notUnlinked: string | undefined;

  const spill = (): number => {
    const file = path.join(options.dir ?? tmpdir(), `pushsync-body-${randomUUID()}`);
    const opened = openSync(file, 'wx+', 0o600);
    // Unlinked at once: the file lives only as long as the descriptor, even if the process dies.
    try {
      unlinkSync(file);
    } catch {
      // A platform that cannot unlink an open file: it is removed at release instead.
      notUnlinked = file;
    }
    for (const c of chunks) writeAll(opened, c);
    chunks = [];
    return opened;
  };

  const body: HeldBody = {
    get size() {
      return size;
    },
    append(chunk) {
      size += chunk.byteLength;
      if (fd === undefined && size <= memoryBytes) {
        chunks.push(chunk);
        return;
      }
      fd ??= spill();
      writeAll(fd, chunk);
    },
    *pieces() {
      if (fd === undefined) {
        yield* chunks;
        return;
      }
      const buffer = Buffer.allocUnsafe(Math.min(READ_BACK_BYTES, size));
      for (let at = 0; at < size; ) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.byteLength, size - at), at);
        if (n === 0) break;
        at += n;
        yield buffer.subarray(0, n);
      }
    },
    bytes() {
      if (fd === undefined) return Buffer.concat(chunks, size);
      const out = Buffer.allocUnsafe(size);
      for (let at = 0; at < size; ) {
        const n = readSync(fd, out, at, size - at, at);
        if (n === 0) throw new Error(`a held request body of ${size} bytes could be read back only to byte ${at}`);
        at += n;
      }
      return out;
    },
    release() {
      chunks = [];
      size = 0;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      if (notUnlinked !== undefined) unlinkSync(notUnlinked);
      notUnlinked = undefined;
    },
  };
  return body;
}

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let at = 0; at < chunk.byteLength; ) at += writeSync(fd, chunk, at, chunk.byteLength - at);
}
