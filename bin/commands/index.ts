/** The CLI's command table. Adding a command = writing its module and adding it here. */
import { clustersCommand, secretsCommand } from './clusters.ts';
import type { Command } from './common.ts';
import { hydrateCommand } from './hydrate.ts';
import { vetCommand } from './vet.ts';

export const COMMANDS: readonly Command[] = [vetCommand, hydrateCommand, clustersCommand, secretsCommand];

/** Named in the design but not written yet; listed as such so nobody mistakes them for working. */
export const COMING: readonly string[] = ['plan', 'apply', 'status'];
