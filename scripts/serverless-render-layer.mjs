// A local Serverless Framework plugin (serverless.yml `plugins`): fills the renderTools layer's
// directory before anything is packaged, so a plain `serverless package` (or `deploy`) ships
// kustomize and helm to the sync and apply functions.
//
// It runs scripts/render-layer.sh for `provider.architecture` (the functions' architecture: the
// layer must match it) into the layer's `path`. That script copies the binaries
// scripts/ensure-render-tools.sh built from Go modules once per machine: with that cache in place
// packaging is offline and takes seconds; without it, the one build happens here, with Go.
//
// It also keeps `serverless package` offline with a layer in the service. Framework v3 compiles
// every layer and then asks CloudFormation (describeStacks) whether the deployed stack already has
// one with the same hash, to reuse its S3 key: a network call that needs an AWS account, which
// `package` (what CI runs) must not. For the `package` command only, that question is not asked;
// the template then names the new zip, which `deploy --package DIR` uploads (a new layer version
// per deploy). `deploy` without --package packages and compares as the Framework does.

import { spawn } from 'node:child_process';
import path from 'node:path';

const LAYER = 'renderTools';

export default class RenderLayer {
  constructor(serverless) {
    this.serverless = serverless;
    // Before the Framework zips the functions and layers (serverless-esbuild bundles then too).
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.fill(),
      'before:package:compileLayers': () => this.offlineLayerCompile(),
    };
  }

  offlineLayerCompile() {
    if (this.serverless.processedInput?.commands?.join(' ') !== 'package') return;
    // The Framework's AwsCompileLayers plugin, found by the method it would call.
    for (const plugin of this.serverless.pluginManager.plugins) {
      if (typeof plugin.compareWithLastLayer === 'function') plugin.compareWithLastLayer = async () => undefined;
    }
  }

  async fill() {
    const layer = this.serverless.service.layers?.[LAYER];
    if (!layer?.path) throw new this.serverless.classes.Error(`serverless.yml has no layers.${LAYER}.path for kustomize and helm`);
    const serviceDir = this.serverless.serviceDir;
    const dir = path.resolve(serviceDir, layer.path);
    const arch = this.serverless.service.provider.architecture ?? 'x86_64';
    // Lambda says x86_64 where Go says amd64.
    const goArch = arch === 'x86_64' ? 'amd64' : arch;
    const script = path.join(serviceDir, 'scripts', 'render-layer.sh');
    const { code, stdout, stderr } = await run('bash', [script, '--arch', goArch, dir], serviceDir);
    if (code !== 0) {
      throw new this.serverless.classes.Error(`scripts/render-layer.sh --arch ${goArch} failed (exit ${code}); kustomize and helm cannot be put in the ${LAYER} layer:\n${stderr.trim()}`);
    }
    const printed = stdout.trim().split('\n').pop();
    if (printed !== dir) throw new this.serverless.classes.Error(`scripts/render-layer.sh filled '${printed}', not the layer's path '${dir}'`);
  }
}

function run(command, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c.toString('utf8')));
    // The scripts' progress is shown as it comes: a first-time build takes minutes.
    child.stderr.on('data', (c) => {
      process.stderr.write(c);
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
