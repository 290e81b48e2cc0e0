/** Path helpers for snapshot paths (relative, `/`-separated, no `..`). */

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

export function topDir(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** True when `dir` is `ancestor` or below it. */
export function isUnder(dir: string, ancestor: string): boolean {
  return dir === ancestor || dir.startsWith(`${ancestor}/`);
}
