/** Snapshot path joining for the kustomization walk and the origin mapping (lib/repo has the rest). */

/** `dir` + `/` + `ref`, or `ref` alone at the top. */
export function joinPath(dir: string, ref: string): string {
  return dir === '' ? ref : `${dir}/${ref}`;
}
