/**
 * The cluster's record of what was applied: read from the inventory parent, no lease, no
 * writes (`pushsync status`).
 */
import { ObjectClient } from './client.ts';
import type { Connection } from './connect.ts';
import { DEFAULT_INVENTORY, inventoryRef, readInventory } from './inventory.ts';
import type { ClusterStatus } from './inventory.ts';

export async function status(conn: Connection, opts: { readonly inventory?: string; readonly signal?: AbortSignal } = {}): Promise<ClusterStatus> {
  const client = new ObjectClient(conn.http, opts.signal ? { signal: opts.signal } : {});
  const ref = inventoryRef(opts.inventory ?? DEFAULT_INVENTORY);
  return { inventory: ref, state: await readInventory(client, ref) };
}
