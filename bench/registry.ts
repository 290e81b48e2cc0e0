/**
 * The registry of a fleet (issue 13 §3): `npx tsx bench/registry.ts`. BENCH_REGISTRY (1,000)
 * clusters registered in Secrets Manager, stubbed at the HTTP level (test/sync/secrets-manager.ts,
 * the service's JSON protocol) with BENCH_SM_MS (25 ms) per call; the AWS SDK as deployed.
 * Measured: sync's registry read (listClusters: who follows what), and the calls by operation.
 *
 *   before  ListSecrets pages, then one GetSecretValue per registration, one at a time (the
 *           listing before this change), one run: bound by its round trips
 *   after   ListSecrets pages, then BatchGetSecretValue of 20 names, 8 at a time; median of BENCH_RUNS (5)
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsSecretStore, listClusters } from '../lib/registry/index.ts';
import { startSecretsManager } from '../test/sync/secrets-manager.ts';

const COUNT = Number(process.env.BENCH_REGISTRY ?? 1000);
const LATENCY = Number(process.env.BENCH_SM_MS ?? 25);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PREFIX = 'pushsync/';
const say = (text = ''): void => void process.stdout.write(`${text}\n`);

const sm = await startSecretsManager({ latencyMs: LATENCY });
for (let i = 0; i < COUNT; i++) {
  const name = `cluster-${String(i).padStart(4, '0')}`;
  sm.put(`${PREFIX}clusters/${name}`, JSON.stringify({ version: 2, name, repo: 'acme/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy', registeredAt: '2026-01-01T00:00:00.000Z' }));
}
// A new store per run: a cold function, nothing cached.
const store = () =>
  new AwsSecretStore({ prefix: PREFIX, client: new SecretsManagerClient({ region: 'eu-west-1', endpoint: sm.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }) });

async function timed(label: string, run: () => Promise<number>): Promise<number> {
  sm.calls.clear();
  const t0 = performance.now();
  const n = await run();
  const ms = performance.now() - t0;
  if (n !== COUNT) throw new Error(`${label}: ${n} clusters, expected ${COUNT}`);
  say(`   ${label.padEnd(10)} ${(ms / 1000).toFixed(2).padStart(6)} s   ${[...sm.calls].map(([op, c]) => `${op} ${c}`).join(', ')}`);
  return ms;
}

try {
  say(`registry: ${COUNT} clusters in Secrets Manager (HTTP stand-in, ${LATENCY} ms a call), sync's listing from a cold function`);
  say('before (one GetSecretValue per registration, in turn):');
  const before = await timed('run 1', async () => {
    const s = store();
    const keys = await s.list('clusters/');
    let n = 0;
    for (const key of keys) if ((await s.get(key)) !== undefined) n++;
    return n;
  });
  say(`after (BatchGetSecretValue, 20 names a call), ${RUNS} runs:`);
  const after: number[] = [];
  for (let i = 0; i < RUNS; i++) after.push(await timed(`run ${i + 1}`, async () => (await listClusters(store())).length));
  const median = [...after].sort((a, b) => a - b)[Math.floor(after.length / 2)] ?? NaN;
  say(`   median ${(median / 1000).toFixed(2)} s = ${(median / before).toFixed(3)} × before (${(before / 1000).toFixed(1)} s)`);
} finally {
  await sm.close();
}
