/**
 * `serverless package` as CI runs it (no AWS account, no network), once, then assertions on
 * what it produced: the CloudFormation template (functions, HTTP route, schedule, IAM, the
 * dead-letter and health queues) and the artifacts, down to running the packaged bundles on this
 * Node (the Node 20 of local mode; Lambda runs them on nodejs22.x): the webhook against local
 * endpoints, sync, apply, resync and health loaded as Lambda loads them, and health fed an SQS batch. The run uses a non-default secret prefix
 * to show it flows from the params.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsSecretStore, registerCluster, setGitHubToken, setWebhookSecrets } from '../../lib/registry/index.ts';
import { buildPushPayload, signWebhook, startGitHubServer, webhookDelivery } from '../helpers/github-server.ts';
import { LAYER_ARCH, packageService, REPO_ROOT, type CfnResource, type PackagedService } from './package-service.ts';
import { startMoto } from './support.ts';
import type { ZipEntry } from './zip.ts';

const STAGE = 'ci';
const PREFIX = 'acme/ps/';
const FUNCTIONS = ['webhook', 'sync', 'apply', 'resync', 'health'] as const;
const name = (fn: string): string => `pushsync-${STAGE}-${fn}`;

let pkg: PackagedService;
beforeAll(async () => {
  pkg = await packageService({ stage: STAGE, region: 'eu-west-1', params: { secretPrefix: PREFIX } });
}, 360_000);
afterAll(async () => {
  await pkg?.close();
});

const resources = (type: string): [string, CfnResource][] => Object.entries(pkg.template.Resources).filter(([, r]) => r.Type === type);
const resource = (id: string): CfnResource => {
  const r = pkg.template.Resources[id];
  if (r === undefined) throw new Error(`no resource ${id} in the template; it has ${Object.keys(pkg.template.Resources).join(', ')}`);
  return r;
};
const props = (id: string): Record<string, unknown> => resource(id).Properties ?? {};
const logical = (fn: string): string => `${fn[0]?.toUpperCase()}${fn.slice(1)}`;

describe('serverless package, offline, with no AWS account', () => {
  it('never tried the network', () => {
    // The guard was there to see it: loaded in the Framework's process.
    expect(pkg.guardedProcesses).toBeGreaterThanOrEqual(1);
    expect(pkg.networkAttempts).toEqual([]);
    expect(pkg.output).toMatch(/Service packaged/);
    // serverless.yml validates as written: Framework v3 learns nodejs22.x from scripts/serverless-runtimes.mjs.
    expect(pkg.output).not.toMatch(/Invalid configuration/);
  });

  it('has the five functions on Node 22 with their memory, timeouts and environment', () => {
    const fns = Object.fromEntries(resources('AWS::Lambda::Function').map(([, r]) => [r.Properties?.FunctionName as string, r.Properties ?? {}]));
    expect(Object.keys(fns).sort()).toEqual(FUNCTIONS.map(name).sort());
    const expected: Record<string, { Timeout: number; MemorySize: number; Handler: string; invokes?: [string, string] }> = {
      webhook: { Timeout: 10, MemorySize: 256, Handler: 'functions/webhook.handler', invokes: ['PUSHSYNC_SYNC_FUNCTION', name('sync')] },
      sync: { Timeout: 300, MemorySize: 1024, Handler: 'functions/sync.handler', invokes: ['PUSHSYNC_APPLY_FUNCTION', name('apply')] },
      apply: { Timeout: 900, MemorySize: 1024, Handler: 'functions/apply.handler' },
      resync: { Timeout: 300, MemorySize: 512, Handler: 'functions/resync.handler', invokes: ['PUSHSYNC_APPLY_FUNCTION', name('apply')] },
      health: { Timeout: 60, MemorySize: 512, Handler: 'functions/health.handler' },
    };
    for (const fn of FUNCTIONS) {
      const p = fns[name(fn)] ?? {};
      const e = expected[fn];
      expect(p, fn).toMatchObject({ Runtime: 'nodejs22.x', Handler: e?.Handler, Timeout: e?.Timeout, MemorySize: e?.MemorySize, Role: { 'Fn::GetAtt': [`${logical(fn)}Role`, 'Arn'] } });
      const vars = (p.Environment as { Variables: Record<string, string> }).Variables;
      expect(vars, fn).toMatchObject({ PUSHSYNC_STORE: 'aws', PUSHSYNC_SECRET_PREFIX: PREFIX, PUSHSYNC_SECRET_CACHE_SECONDS: '60', PUSHSYNC_LOG_LEVEL: 'info', NODE_OPTIONS: '--enable-source-maps' });
      // Each function knows the name of the function it invokes, and no other.
      const named = Object.keys(vars).filter((k) => /^PUSHSYNC_(SYNC|APPLY)_FUNCTION$/.test(k));
      expect(named, fn).toEqual(e?.invokes ? [e.invokes[0]] : []);
      if (e?.invokes) expect(vars[e.invokes[0]]).toBe(e.invokes[1]);
      // Apply and health schedule health checks: they, and only they, know the queue and the interval.
      // Sync schedules the fleet's looks (lib/sync/fleet.ts) on the same queue.
      const schedules = fn === 'apply' || fn === 'health' || fn === 'sync';
      expect(vars.PUSHSYNC_HEALTH_QUEUE_URL, fn).toEqual(schedules ? { Ref: 'HealthQueue' } : undefined);
      expect(vars.PUSHSYNC_HEALTH_INTERVAL, fn).toBe(schedules ? '10' : undefined);
    }
  });

  it('limits the public endpoint: the webhook reserves 20 instances, the HTTP API stage is throttled, nothing else is capped', () => {
    expect(props('WebhookLambdaFunction').ReservedConcurrentExecutions).toBe(20);
    for (const fn of ['Sync', 'Apply', 'Resync', 'Health']) expect(props(`${fn}LambdaFunction`).ReservedConcurrentExecutions, fn).toBeUndefined();
    expect(resources('AWS::ApiGatewayV2::Stage')).toHaveLength(1);
    expect(props('HttpApiStage')).toMatchObject({ StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 50, DetailedMetricsEnabled: false } });
  });

  it('routes POST /webhook (HTTP API, payload 2.0) to the webhook function, and nothing else', () => {
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties?.RouteKey);
    expect(routes).toEqual(['POST /webhook']);
    const [[, integration] = ['', { Type: '' }]] = resources('AWS::ApiGatewayV2::Integration');
    expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: { 'Fn::GetAtt': ['WebhookLambdaFunction', 'Arn'] } });
    expect(JSON.stringify(pkg.template.Outputs?.WebhookUrl)).toContain('/webhook');
  });

  it('runs resync on a rate(10 minutes) schedule', () => {
    const rules = resources('AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    expect(rules[0]?.[1].Properties).toMatchObject({ ScheduleExpression: 'rate(10 minutes)', State: 'ENABLED', Targets: [{ Arn: { 'Fn::GetAtt': ['ResyncLambdaFunction', 'Arn'] } }] });
  });

  it('feeds health from the HealthQueue (encrypted, 6x its timeout of visibility, 3 receives then the dead-letter queue), in batches of 10 with partial failures', () => {
    expect(props('HealthQueue')).toEqual({
      QueueName: `pushsync-${STAGE}-health`,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }, maxReceiveCount: 3 },
    });
    // AWS's advice for an SQS event source: a visibility timeout of at least 6x the function's timeout.
    expect(props('HealthQueue').VisibilityTimeout).toBeGreaterThanOrEqual(6 * (props('HealthLambdaFunction').Timeout as number));
    const mappings = resources('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.[1].Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['HealthQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['HealthLambdaFunction', 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      Enabled: true,
    });
  });

  it('retries failed async sync and apply twice, then sends them to the SQS dead-letter queue; resync waits for its next run', () => {
    expect(resources('AWS::SQS::Queue').map(([id]) => id).sort()).toEqual(['DeadLetterQueue', 'HealthQueue']);
    expect(props('DeadLetterQueue')).toMatchObject({ QueueName: `pushsync-${STAGE}-failed`, MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    const configs = Object.fromEntries(resources('AWS::Lambda::EventInvokeConfig').map(([, r]) => [(r.Properties?.FunctionName as { Ref: string }).Ref, r.Properties]));
    expect(Object.keys(configs).sort()).toEqual(['ApplyLambdaFunction', 'ResyncLambdaFunction', 'SyncLambdaFunction']);
    for (const fn of ['ApplyLambdaFunction', 'SyncLambdaFunction']) {
      expect(configs[fn], fn).toMatchObject({ MaximumRetryAttempts: 2, Qualifier: '$LATEST', DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } } });
    }
    expect(configs.ResyncLambdaFunction).toEqual({ FunctionName: { Ref: 'ResyncLambdaFunction' }, DestinationConfig: {}, Qualifier: '$LATEST', MaximumRetryAttempts: 0 });
  });

  it('gives each function its own role with exactly the statements it needs', () => {
    const secrets = `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${PREFIX}`;
    const fnArn = (fn: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name(fn)}` });
    const logs = (fn: string) => ({
      Sid: 'Logs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${name(fn)}:*` },
    });
    const read = (...names: string[]) => ({ Sid: 'ReadSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: names.map((n) => ({ 'Fn::Sub': `${secrets}${n}` })) });
    // Not github/webhook-secret; "*" so that the one of the two that is missing reads as not found.
    const github = ['github/token*', 'github/app*'];
    const batchRead = { Sid: 'BatchReadSecrets', Effect: 'Allow', Action: 'secretsmanager:BatchGetSecretValue', Resource: '*' };
    const list = { Sid: 'ListSecrets', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': { Ref: 'AWS::Region' } } } };
    const invokeApply = { Sid: 'InvokeApply', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fnArn('apply') };
    const deadLetter = { Sid: 'DeadLetter', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } };
    const healthQueue = { 'Fn::GetAtt': ['HealthQueue', 'Arn'] };
    const scheduleHealth = { Sid: 'ScheduleHealth', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: healthQueue };
    const expected: Record<string, unknown[]> = {
      WebhookRole: [
        logs('webhook'),
        { Sid: 'ReadWebhookSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { 'Fn::Sub': `${secrets}github/webhook-secret-??????` } },
        { Sid: 'InvokeSync', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fnArn('sync') },
      ],
      // Who follows what: registrations only, never a kubeconfig.
      // Both render, so both may read the private chart repositories' credentials.
      SyncRole: [logs('sync'), read('clusters/*', ...github, 'helm/repos*'), batchRead, list, invokeApply, deadLetter, scheduleHealth],
      ApplyRole: [logs('apply'), read('clusters/*', 'kubeconfigs/*', ...github, 'helm/repos*'), deadLetter, scheduleHealth],
      ResyncRole: [logs('resync'), read('clusters/*', ...github), batchRead, list, invokeApply],
      // Looks at the cluster like apply; sends the next look, and consumes its queue (the event source mapping runs as it).
      HealthRole: [
        logs('health'),
        read('clusters/*', 'kubeconfigs/*', ...github),
        scheduleHealth,
        { Sid: 'ConsumeHealth', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'], Resource: healthQueue },
      ],
    };
    // No other IAM resource: no framework default role, no managed or inline policy elsewhere.
    expect(Object.entries(pkg.template.Resources).filter(([, r]) => r.Type.startsWith('AWS::IAM::')).map(([id, r]) => `${id}:${r.Type}`).sort()).toEqual(
      Object.keys(expected).map((id) => `${id}:AWS::IAM::Role`).sort(),
    );
    for (const [id, statements] of Object.entries(expected)) {
      const p = props(id);
      expect(p.AssumeRolePolicyDocument, id).toEqual({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
      expect(p.ManagedPolicyArns, id).toBeUndefined();
      const policies = p.Policies as { PolicyDocument: { Statement: unknown[] } }[];
      expect(policies, id).toHaveLength(1);
      expect(policies[0]?.PolicyDocument.Statement, id).toEqual(statements);
    }
    // Only apply and health read kubeconfigs, only the webhook reads its secret, and no role reads the whole prefix.
    for (const [id] of resources('AWS::IAM::Role')) {
      const text = JSON.stringify(props(id).Policies);
      expect(text.includes('kubeconfigs/'), id).toBe(id === 'ApplyRole' || id === 'HealthRole');
      expect(text.includes('HealthQueue'), id).toBe(id === 'ApplyRole' || id === 'HealthRole' || id === 'SyncRole');
      expect(text.includes('webhook-secret'), id).toBe(id === 'WebhookRole');
      expect(text, id).not.toContain(`${secrets}*`);
    }
    for (const fn of ['Apply', 'Health']) {
      const vars = (props(`${fn}LambdaFunction`).Environment as { Variables: Record<string, string> }).Variables;
      expect(vars.PUSHSYNC_EXEC_ALLOWLIST, fn).toBe('');
    }
    // Belt and braces: no wildcard action anywhere, and "*" as a resource only for the two actions
    // that take no resource ARN (BatchGetSecretValue still returns only what GetSecretValue allows).
    for (const [, r] of resources('AWS::IAM::Role')) {
      for (const s of (r.Properties?.Policies as { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } }[])[0]?.PolicyDocument.Statement ?? []) {
        for (const a of [s.Action].flat()) expect(a).not.toContain('*');
        if (s.Resource === '*') expect(['secretsmanager:ListSecrets', 'secretsmanager:BatchGetSecretValue']).toContain(s.Action);
      }
    }
  });

  it('packs each function as its bundle and source map, under 5 MB zipped', async () => {
    for (const fn of FUNCTIONS) {
      const entries = await pkg.entries(fn);
      expect(entries.map((e) => e.name).sort(), fn).toEqual([`functions/${fn}.mjs`, `functions/${fn}.mjs.map`]);
      expect(statSync(pkg.artifact(fn)).size, fn).toBeLessThan(5 * 1024 * 1024);
      // Minified, with the createRequire shim the bundled CommonJS needs in an ES module.
      const code = entries.find((e) => e.name.endsWith('.mjs'))?.data.toString('utf8') ?? '';
      expect(code.startsWith("import { createRequire as __pushsyncRequire } from 'node:module';"), fn).toBe(true);
      expect(code).toContain('sourceMappingURL=');
    }
  });

  it('keeps the internet-facing webhook bundle free of the engines: it carries the job schema (lib/jobs.ts), not the sync, cluster, repo or source code, nor the Kubernetes client', async () => {
    const map = (await pkg.entries('webhook')).find((e) => e.name.endsWith('.mjs.map'));
    const sources = (JSON.parse(map?.data.toString('utf8') ?? '{}') as { sources?: string[] }).sources ?? [];
    expect(sources.some((s) => s.endsWith('lib/jobs.ts'))).toBe(true);
    const engines = sources.filter((s) => /lib\/(sync|cluster|repo|source)\/|@kubernetes\/client-node/.test(s));
    expect(engines, sources.join('\n')).toEqual([]);
    // Nor the SQS SDK: the webhook only invokes sync (lib/fanout/sqs.ts loads it lazily, and it is tree-shaken away).
    expect(sources.filter((s) => /client-sqs/.test(s))).toEqual([]);
    const health = (await pkg.entries('health')).find((e) => e.name.endsWith('.mjs.map'));
    expect(((JSON.parse(health?.data.toString('utf8') ?? '{}') as { sources?: string[] }).sources ?? []).some((s) => s.includes('@aws-sdk/client-sqs/'))).toBe(true);
  });
});

/** The version of `module` the recipe go.mod under test/render-tools/ requires. */
async function recipeVersion(recipe: string, module: string): Promise<string> {
  const text = await readFile(path.join(REPO_ROOT, 'test/render-tools', recipe, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/[.]/g, '\\.')}\\s+(v\\S+)`, 'm').exec(text);
  if (!m?.[1]) throw new Error(`test/render-tools/${recipe}/go.mod requires no ${module}`);
  return m[1];
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const EM_AARCH64 = 183;

describe('the renderTools layer: kustomize and helm for sync and apply, arm64, packaged offline', () => {
  const LAYER = 'RenderToolsLambdaLayer';
  const layered = new Set(['sync', 'apply']);
  // ~70 MB to inflate: once for the tests below.
  let unzipped: Promise<ZipEntry[]> | undefined;
  const layerEntries = (): Promise<ZipEntry[]> => (unzipped ??= pkg.entries('renderTools'));

  it('is a layer version for nodejs22.x on arm64, the functions own architecture', () => {
    expect(resources('AWS::Lambda::LayerVersion').map(([id]) => id)).toEqual([LAYER]);
    expect(props(LAYER)).toMatchObject({
      LayerName: `pushsync-${STAGE}-render-tools`,
      CompatibleRuntimes: ['nodejs22.x'],
      CompatibleArchitectures: ['arm64'],
      Content: { S3Bucket: { Ref: 'ServerlessDeploymentBucket' } },
    });
    expect((props(LAYER).Content as { S3Key: string }).S3Key).toMatch(/\/renderTools\.zip$/);
    for (const fn of FUNCTIONS) expect(props(`${logical(fn)}LambdaFunction`).Architectures, fn).toEqual(['arm64']);
  });

  it('is attached to sync and apply, which look for the tools in /opt/bin; webhook, resync and health neither get it nor look', () => {
    for (const fn of FUNCTIONS) {
      const p = props(`${logical(fn)}LambdaFunction`);
      const vars = lambdaEnv(fn);
      expect(p.Layers, fn).toEqual(layered.has(fn) ? [{ Ref: LAYER }] : undefined);
      expect(vars.PUSHSYNC_RENDER_TOOLS, fn).toBe(layered.has(fn) ? '/opt/bin' : undefined);
      expect(vars.PUSHSYNC_FLEET_THRESHOLD, fn).toBe(fn === 'sync' ? '10' : undefined);
      expect(vars.PUSHSYNC_REMOTE_BASES, fn).toBe(layered.has(fn) ? 'https://github.com/,https://gitlab.com/,https://bitbucket.org/' : undefined);
    }
  });

  it('holds bin/kustomize and bin/helm, executable linux/arm64 ELF binaries of the recipe versions, copied from the once-per-machine build', async () => {
    const entries = await layerEntries();
    expect(entries.map((e) => e.name).sort()).toEqual(['bin/helm', 'bin/kustomize']);
    // The build the packaging copied: ensure-render-tools.sh's arm64 cache (it only looks here).
    const cache = await promisify(execFile)('bash', [path.join(REPO_ROOT, 'scripts/ensure-render-tools.sh'), '--arch', LAYER_ARCH, '--no-build'], { cwd: REPO_ROOT });
    const cacheDir = cache.stdout.trim().split('\n').pop() ?? '';
    const modules = { kustomize: ['kustomize', 'sigs.k8s.io/kustomize/kustomize/v5'], helm: ['helm', 'helm.sh/helm/v3'] } as const;
    for (const e of entries) {
      const tool = e.name.slice('bin/'.length) as keyof typeof modules;
      // Lambda runs only what is executable: the zip must carry the exec bit.
      expect(e.mode & 0o111, e.name).toBe(0o111);
      // ELF, 64-bit, little-endian, machine AArch64.
      expect(e.data.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])), e.name).toBe(true);
      expect([e.data[4], e.data[5], e.data.readUInt16LE(18)], e.name).toEqual([2, 1, EM_AARCH64]);
      // Go's build info, embedded in the binary: the module at the recipe's version, built for linux/arm64.
      const [recipe, module] = modules[tool];
      const text = e.data.toString('latin1');
      expect(text, e.name).toContain(`mod\t${module}\t${await recipeVersion(recipe, module)}\t`);
      expect(text, e.name).toContain('build\tGOARCH=arm64\n');
      expect(text, e.name).toContain('build\tGOOS=linux\n');
      expect(sha256(e.data), e.name).toBe(sha256(await readFile(path.join(cacheDir, tool))));
    }
    // Offline and without a build: the cache was there, and nothing in the output says Go ran.
    expect(pkg.output).toContain('render-layer: kustomize and helm for linux/arm64');
    expect(pkg.output).not.toMatch(/building kustomize|ensure-render-tools: ERROR/);
  });

  it('fits Lambda: function plus layer well under the 250 MB unzipped limit (sizes reported in the README)', async () => {
    const size = (await layerEntries()).reduce((n, e) => n + e.size, 0);
    const zipped = statSync(pkg.artifact('renderTools')).size;
    console.info(`renderTools layer: ${(zipped / 2 ** 20).toFixed(1)} MiB zipped, ${(size / 2 ** 20).toFixed(1)} MiB unzipped`);
    for (const fn of ['sync', 'apply']) {
      const bundle = (await pkg.entries(fn)).reduce((n, e) => n + e.size, 0);
      expect(bundle + size, fn).toBeLessThan(250 * 1000 * 1000);
    }
    // Sanity bounds for what two static Go binaries weigh: a layer far outside them packed something else.
    expect(size).toBeGreaterThan(20 * 2 ** 20);
    expect(size).toBeLessThan(150 * 2 ** 20);
    expect(zipped).toBeLessThan(size);
  });

  it('was filled in the staged service, not in the checkout', () => {
    // scripts/render-layer.sh wrote the layer's path (serverless.yml: .build/render-tools-layer) beside serverless.yml.
    expect(statSync(path.join(pkg.dir, '.build/render-tools-layer/bin/helm')).mode & 0o111).toBe(0o111);
  });
});

/** A function's bundle and source map, unzipped from its artifact into a new directory under `root`. */
async function unpack(fn: string, root: string): Promise<string> {
  const dir = path.join(root, fn);
  for (const e of await pkg.entries(fn)) {
    await mkdir(path.dirname(path.join(dir, e.name)), { recursive: true });
    await writeFile(path.join(dir, e.name), e.data);
  }
  return dir;
}

/** The environment serverless.yml gives a function, from the packaged template. */
const lambdaEnv = (fn: string): Record<string, string> => (props(`${logical(fn)}LambdaFunction`).Environment as { Variables: Record<string, string> }).Variables;

/**
 * Runs `script` (an ES module) in a fresh Node process, in `cwd`, with only `env` (and PATH) set,
 * as a Lambda container starts: nothing of this process's modules or environment comes along.
 */
function runNode(script: string, cwd: string, env: Record<string, string>): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ output: text, code }));
  });
}

const AWS_TEST_ENV = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

describe('the packaged webhook bundle, run as Lambda would run it', () => {
  interface Invocation {
    url: string;
    headers: IncomingHttpHeaders;
    body: string;
  }
  let lambda: { server: Server; url: string; seen: Invocation[] } | undefined;
  let work: string | undefined;

  afterAll(async () => {
    if (lambda) await new Promise<void>((resolve) => lambda?.server.close(() => resolve()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('answers a signed ping 200, an unsigned or forged one 401, and a push 202 after invoking sync (Secrets Manager: moto; Lambda: a local endpoint)', async () => {
    const SECRET = 'packaged-webhook-secret-0123456789';
    const moto = await startMoto();
    const github = await startGitHubServer({ owner: 'acme', repo: 'policy' });
    try {
      const seen: Invocation[] = [];
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
          res.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      lambda = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };

      const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
      const store = new AwsSecretStore({ prefix: PREFIX, client: new SecretsManagerClient({ region: 'eu-west-1', endpoint: moto.url, credentials }) });
      await setWebhookSecrets(store, [SECRET]);

      work = await mkdtemp(path.join(tmpdir(), 'pushsync-bundle-'));
      const bundle = await unpack('webhook', work);
      const sha = await github.git.commit({ 'system/repo.yaml': 'kind: Repo\n' }, { message: 'x' });
      const ping = webhookDelivery({ zen: 'Design for failure.', hook_id: 1 }, SECRET, { event: 'ping' });
      const push = webhookDelivery(await buildPushPayload({ git: github.git, owner: 'acme', repo: 'policy', ref: 'main', after: sha, apiUrl: github.url }), SECRET);
      const event = (d: { method: string; headers: Record<string, string>; body: string }) => ({ version: '2.0', headers: d.headers, body: d.body, isBase64Encoded: false, requestContext: { http: { method: d.method } } });
      const unsigned = { ...ping, headers: Object.fromEntries(Object.entries(ping.headers).filter(([k]) => !k.startsWith('x-hub-signature'))) };
      // The same body with well-formed signatures made with a key that is not the webhook secret.
      const forged = { ...ping, headers: { ...ping.headers, 'x-hub-signature-256': signWebhook(ping.body, `${SECRET}-guess`), 'x-hub-signature': `sha1=${createHmac('sha1', `${SECRET}-guess`).update(ping.body).digest('hex')}` } };
      expect(forged.headers['x-hub-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(forged.headers['x-hub-signature-256']).not.toBe(ping.headers['x-hub-signature-256']);

      const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(path.join(bundle, 'functions/webhook.mjs')).href)});
const out = [];
for (const e of JSON.parse(process.env.EVENTS)) out.push((await handler(e)).statusCode);
console.log('RESULT ' + JSON.stringify(out));`;
      const { output: stdout, code } = await runNode(script, bundle, {
        ...lambdaEnv('webhook'),
        ...AWS_TEST_ENV,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.url,
        AWS_ENDPOINT_URL_LAMBDA: lambda?.url ?? '',
        EVENTS: JSON.stringify([event(unsigned), event(forged), event(ping), event(push)]),
      });
      expect(code, stdout).toBe(0);
      expect(/RESULT (.*)/.exec(stdout)?.[1], stdout).toBe('[401,401,200,202]');
      expect(seen).toHaveLength(1);
      expect(seen[0]?.url).toBe(`/2015-03-31/functions/${name('sync')}/invocations`);
      expect(seen[0]?.headers['x-amz-invocation-type']).toBe('Event');
      expect(JSON.parse(seen[0]?.body ?? '{}')).toMatchObject({ deliveryId: push.deliveryId, repo: 'acme/policy', after: sha });
      // Structured logs on stdout, as CloudWatch gets them, and no secret in them or in the payload.
      expect(stdout).toContain('"function":"webhook"');
      expect(stdout).not.toContain(SECRET);
      expect(seen[0]?.body).not.toContain(SECRET);
    } finally {
      await github.close();
      await moto.close();
    }
  }, 120_000);
});

describe('the packaged sync, apply, resync and health bundles', () => {
  let work: string | undefined;
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it.each(['sync', 'apply', 'resync', 'health'] as const)('%s loads on this Node as Lambda loads it, with its environment from the template, and exports its handler', async (fn) => {
    work ??= await mkdtemp(path.join(tmpdir(), 'pushsync-bundles-'));
    const bundle = await unpack(fn, work);
    // Importing runs the whole bundle's top level: the createRequire banner, every bundled
    // dependency's module code, the SDK clients' modules. A require() esbuild could not resolve,
    // or syntax newer than this Node, fails here rather than on the first cold start.
    const script = `const m = await import(${JSON.stringify(pathToFileURL(path.join(bundle, `functions/${fn}.mjs`)).href)});
console.log('RESULT ' + JSON.stringify({ handler: typeof m.handler }));`;
    const { output, code } = await runNode(script, bundle, { ...lambdaEnv(fn), ...AWS_TEST_ENV });
    expect(code, output).toBe(0);
    expect(/RESULT (.*)/.exec(output)?.[1], output).toBe('{"handler":"function"}');
  });
});

describe('the packaged health bundle, fed an SQS batch as the event source mapping feeds it', () => {
  let work: string | undefined;
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('returns exactly the record whose look threw in batchItemFailures; a finished look and a body that is not JSON are not (Secrets Manager: moto; GitHub: the stand-in)', async () => {
    const moto = await startMoto();
    const github = await startGitHubServer({ owner: 'acme', repo: 'policy' });
    try {
      const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
      const store = new AwsSecretStore({ prefix: PREFIX, client: new SecretsManagerClient({ region: 'eu-west-1', endpoint: moto.url, credentials }) });
      await setGitHubToken(store, github.token);
      // A registered cluster whose API server refuses connections: its look fails, transiently.
      const unreachable = 'apiVersion: v1\nkind: Config\nclusters:\n  - name: stuck\n    cluster:\n      server: https://127.0.0.1:1\nusers:\n  - name: u\n    user:\n      token: packaged-health-kube-token-0123456789\ncontexts:\n  - name: stuck\n    context:\n      cluster: stuck\n      user: u\ncurrent-context: stuck\n';
      expect(await registerCluster(store, { name: 'stuck', kubeconfig: unreachable, repo: 'acme/policy', branch: 'main', dir: '.' })).toMatchObject({ ok: true });
      const sha = await github.git.commit({ 'system/repo.yaml': 'kind: Repo\n' }, { message: 'x' });
      const now = Date.now();
      const job = (cluster: string) => ({ deliveryId: 'd-health', owner: 'acme', name: 'policy', sha, cluster, rollout: 'r-1', startedAt: now, timeoutAt: now + 300_000, check: 1, applied: 'applied 1 (1 created)' });
      const record = (messageId: string, body: string) => ({ messageId, receiptHandle: `rh-${messageId}`, body, attributes: { ApproximateReceiveCount: '1' }, eventSource: 'aws:sqs', awsRegion: 'eu-west-1' });
      const event = {
        Records: [
          // Finishes: the cluster is not registered (any more), which is reported and done.
          record('m-good', JSON.stringify(job('gone'))),
          // Throws: the cluster cannot be read, and the next look cannot be queued either (SQS is down too).
          record('m-bad', JSON.stringify(job('stuck'))),
          record('m-garbled', '{"deliveryId": "d-health", '),
        ],
      };

      work = await mkdtemp(path.join(tmpdir(), 'pushsync-health-'));
      const bundle = await unpack('health', work);
      const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(path.join(bundle, 'functions/health.mjs')).href)});
const context = { awsRequestId: 'req-health', getRemainingTimeInMillis: () => 60000 };
console.log('RESULT ' + JSON.stringify(await handler(JSON.parse(process.env.EVENT), context)));`;
      const down = 'http://127.0.0.1:1';
      const { output, code } = await runNode(script, bundle, {
        ...lambdaEnv('health'),
        ...AWS_TEST_ENV,
        PUSHSYNC_HEALTH_QUEUE_URL: `${down}/000000000000/pushsync-${STAGE}-health`,
        PUSHSYNC_GITHUB_URL: github.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.url,
        AWS_ENDPOINT_URL_SQS: down,
        EVENT: JSON.stringify(event),
      });
      expect(code, output).toBe(0);
      expect(JSON.parse(/RESULT (.*)/.exec(output)?.[1] ?? 'null'), output).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }] });
      // The finished look really ran: it concluded the unregistered cluster's status.
      expect(github.latestStatuses(sha).get('pushsync/gone')?.state, output).toBe('failure');
      expect(output).toContain('message body is not JSON: dropped, not retried');
      expect(output).toContain('"messageId":"m-bad"');
      expect(output).not.toContain(github.token);
      expect(output).not.toContain('packaged-health-kube-token-0123456789');
    } finally {
      await github.close();
      await moto.close();
    }
  }, 120_000);
});
