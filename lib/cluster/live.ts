/**
 * The live members of the ApplySet: every object carrying our part-of label, found by one
 * label-selected LIST per group-kind (the union of what the parent lists and what the
 * commit declares). A kind the server no longer serves has no members.
 */
import type { ObjectClient } from './client.ts';
import type { Discovery, Mapping } from './discovery.ts';
import { ApiError } from './errors.ts';
import { Keys } from './metadata.ts';
import { idOf, idKey, parseGroupKind } from './objects.ts';
import type { LiveObject, ObjectId } from './objects.ts';
import { mapLimit } from './pool.ts';

export interface LiveMember {
  readonly live: LiveObject;
  readonly mapping: Mapping;
  readonly id: ObjectId;
  readonly key: string;
}

export async function listMembers(
  client: ObjectClient,
  discovery: Discovery,
  applysetId: string,
  groupKinds: Iterable<string>,
  preferred: ReadonlyMap<string, Mapping>,
): Promise<LiveMember[]> {
  const selector = `${Keys.partOf}=${applysetId}`;
  const gks = [...new Set(groupKinds)].sort();
  const lists = await mapLimit(gks, 8, async (gk) => {
    const { group, kind } = parseGroupKind(gk);
    const mapping = preferred.get(gk) ?? (await discovery.forGroupKind(group, kind));
    if (!mapping) return [];
    try {
      const items = await client.list(mapping, selector);
      return items.map((live) => {
        const id = idOf(live);
        return { live, mapping, id, key: idKey(id) };
      });
    } catch (e) {
      // The kind vanished between discovery and list (CRD deleted): nothing of it remains.
      if (e instanceof ApiError && e.status === 404) return [];
      throw e;
    }
  });
  return lists.flat();
}
