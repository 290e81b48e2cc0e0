/**
 * A local stand-in for AWS Secrets Manager at the HTTP level (its JSON 1.1 protocol, as the SDK
 * speaks it): ListSecrets (name filter, pages of MaxResults ≤ 100 with NextToken),
 * GetSecretValue, BatchGetSecretValue (SecretIdList of ≤ 20), each answered after `latencyMs`,
 * every call counted by operation. Enough to measure the registry of a fleet, not a full service.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsManagerStandIn {
  readonly endpoint: string;
  readonly calls: Map<string, number>;
  put(name: string, value: string): void;
  close(): Promise<void>;
}

export async function startSecretsManager(options: { latencyMs?: number } = {}): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, string>();
  const calls = new Map<string, number>();
  const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
  const answer = (op: string, input: Record<string, unknown>): { status: number; body: unknown } => {
    switch (op) {
      case 'ListSecrets': {
        const filters = (input.Filters ?? []) as { Key: string; Values: string[] }[];
        const prefix = filters.find((f) => f.Key === 'name')?.Values[0] ?? '';
        const max = Math.min(Number(input.MaxResults ?? 100), 100);
        const names = [...secrets.keys()].filter((n) => n.startsWith(prefix)).sort();
        const start = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
        const page = names.slice(start, start + max);
        return { status: 200, body: { SecretList: page.map((Name) => ({ Name, ARN: arn(Name) })), ...(start + max < names.length ? { NextToken: String(start + max) } : {}) } };
      }
      case 'GetSecretValue': {
        const id = String(input.SecretId);
        const value = secrets.get(id);
        if (value === undefined) return { status: 400, body: { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." } };
        return { status: 200, body: { Name: id, ARN: arn(id), SecretString: value, VersionId: 'v1' } };
      }
      case 'BatchGetSecretValue': {
        const ids = (input.SecretIdList ?? []) as string[];
        if (ids.length > 20) return { status: 400, body: { __type: 'InvalidParameterException', message: 'SecretIdList can contain at most 20 IDs' } };
        const found = ids.filter((id) => secrets.has(id));
        return {
          status: 200,
          body: {
            SecretValues: found.map((id) => ({ Name: id, ARN: arn(id), SecretString: secrets.get(id), VersionId: 'v1' })),
            Errors: ids.filter((id) => !secrets.has(id)).map((id) => ({ SecretId: id, ErrorCode: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." })),
          },
        };
      }
      default:
        return { status: 400, body: { __type: 'UnknownOperationException', message: op } };
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      calls.set(op, (calls.get(op) ?? 0) + 1);
      const input = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const { status, body } = answer(op, input);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'stand-in' });
        res.end(JSON.stringify(body));
      }, options.latencyMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    put: (name, value) => void secrets.set(name, value),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
