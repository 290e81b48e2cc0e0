/**
 * Rendered output kept by what it was rendered from: the files kustomize read (paths and
 * contents, remote bases fetched into the snapshot included, with the commits they resolved to),
 * the sync directory and the tools' versions. A remote branch that moved is new content, so a
 * new render; remote bases are fetched on every call (only the remote knows where a branch is). A push that leaves all of that as it
 * was (a README changed, another cluster's overlay) renders nothing; only a successful render
 * is kept (a failure may have been a timeout).
 *
 * Per process, like the blob cache: a warm Lambda or `serve` reuses it across jobs. Small (a
 * rendered repo can be megabytes): the least recently used entry goes first.
 */
import { createHash } from 'node:crypto';
import type { SourceFile } from '../repo/types.ts';
import type { RenderedRepo } from './repo.ts';
import type { RenderTools } from './tools.ts';

export const RENDER_CACHE_ENTRIES = 16;

export interface RenderCacheStats {
  /** kustomize runs (cache misses that rendered). */
  readonly renders: number;
  readonly hits: number;
}

export class RenderCache {
  readonly #entries = new Map<string, Extract<RenderedRepo, { kind: 'rendered' }>>();
  readonly #max: number;
  #renders = 0;
  #hits = 0;

  constructor(max = RENDER_CACHE_ENTRIES) {
    this.#max = max;
  }

  /** The key of one render: every input that can change its output. */
  static key(files: readonly SourceFile[], top: string, syncDir: string, tools: RenderTools): string {
    const h = createHash('sha256');
    h.update(`${tools.kustomize.version}\0${tools.helm.version}\0${top}\0${syncDir}\0`);
    for (const f of files) {
      h.update(f.path);
      h.update('\0');
      h.update(createHash('sha256').update(f.content).digest());
    }
    return h.digest('hex');
  }

  async get(key: string, render: () => Promise<RenderedRepo>): Promise<RenderedRepo> {
    const kept = this.#entries.get(key);
    if (kept !== undefined) {
      this.#hits++;
      // Most recently used last: Map keeps insertion order.
      this.#entries.delete(key);
      this.#entries.set(key, kept);
      return kept;
    }
    this.#renders++;
    const r = await render();
    if (r.kind === 'rendered') {
      this.#entries.set(key, r);
      while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
    }
    return r;
  }

  stats(): RenderCacheStats {
    return { renders: this.#renders, hits: this.#hits };
  }
}
