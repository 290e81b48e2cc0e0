// A local Serverless Framework plugin (serverless.yml `plugins`): lets v3 validate
// `provider.runtime: nodejs22.x`.
//
// v3 is the last Framework release that packages without a login or a downloaded binary, and its
// config schema lists the Lambda runtimes it knew at its last release, up to nodejs20.x. Lambda has
// run nodejs22.x since November 2024, but v3 will not add it, so every `serverless package` and
// `deploy` would print "Invalid configuration encountered at 'provider.runtime'". This adds the
// runtimes pushsync deploys on to that list and changes nothing else: the template says what
// serverless.yml says.

const RUNTIMES = ['nodejs22.x'];

export default class LambdaRuntimes {
  constructor(serverless) {
    // Plugins are constructed after the AWS provider defined its schema and before the config is
    // validated. A Framework that already knows the runtime, or validates another way, is left as
    // it is (test/aws/serverless-package.test.ts shows any warning that would then appear).
    const known = serverless.configSchemaHandler?.schema?.definitions?.awsLambdaRuntime?.enum;
    if (!Array.isArray(known)) return;
    for (const runtime of RUNTIMES) if (!known.includes(runtime)) known.push(runtime);
  }
}
