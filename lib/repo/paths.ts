/** Path helpers for snapshot paths (relative, `/`-separated, no `..`). */

// Every object of a file asks for the same directory many times per cluster pass; a file
// count-sized cache turns those slices into lookups.
const dirCache = new Map<string, string>();
const topCache = new Map<string, string>();
const CACHE_LIMIT = 100_000;

export function dirOf(path: string): string {
  let d = dirCache.get(path);
  if (d === undefined) {
    const i = path.lastIndexOf('/');
    d = i < 0 ? '' : path.slice(0, i);
    if (dirCache.size > CACHE_LIMIT) dirCache.clear();
    dirCache.set(path, d);
  }
  return d;
}

export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

export function topDir(path: string): string {
  let t = topCache.get(path);
  if (t === undefined) {
    const i = path.indexOf('/');
    t = i < 0 ? '' : path.slice(0, i);
    if (topCache.size > CACHE_LIMIT) topCache.clear();
    topCache.set(path, t);
  }
  return t;
}

/** True when `dir` is `ancestor` or below it. */
export function isUnder(dir: string, ancestor: string): boolean {
  return dir === ancestor || dir.startsWith(`${ancestor}/`);
}
