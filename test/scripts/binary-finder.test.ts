/** The test helpers' finder for the binaries a scripts/ensure-*.sh builds: no build in a hook, the script's words when missing. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binaryFinder } from '../helpers/control-plane.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['PUSHSYNC_WORKLOAD_ASSETS', 'PUSHSYNC_WORKLOADS_DIR']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('binaryFinder', () => {
  it('with nothing built: ASSETS_MISSING naming the binaries, the variable and the script, and what the script said', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'pushsync-no-binaries-'));
    try {
      process.env.PUSHSYNC_WORKLOAD_ASSETS = empty;
      process.env.PUSHSYNC_WORKLOADS_DIR = path.join(empty, 'cache');
      const find = binaryFinder({ script: 'ensure-workloads.sh', envVar: 'PUSHSYNC_WORKLOAD_ASSETS', binaries: ['kube-controller-manager', 'kube-scheduler', 'kwok'] });
      let thrown: unknown;
      try {
        find();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toMatchObject({ code: 'ASSETS_MISSING' });
      const message = (thrown as Error).message;
      expect(message).toContain(`kube-controller-manager, kube-scheduler, kwok were not found (PUSHSYNC_WORKLOAD_ASSETS=${empty})`);
      expect(message).toContain("Run 'bash scripts/ensure-workloads.sh' once");
      // The script's own diagnosis comes along: it looked in the cache and found no build there.
      expect(message).toContain(`no current build of kube-controller-manager kube-scheduler kwok in ${path.join(empty, 'cache')}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
