/** The CLI's command table. Adding a command = writing its module and adding it here. */
import { clustersCommand, secretsCommand } from './clusters.ts';
import type { Command } from './common.ts';
import { hydrateCommand } from './hydrate.ts';
import { applyCommand } from './apply.ts';
import { planCommand } from './plan.ts';
import { serveCommand } from './serve.ts';
import { statusCommand } from './status.ts';
import { vetCommand } from './vet.ts';

export const COMMANDS: readonly Command[] = [vetCommand, hydrateCommand, planCommand, applyCommand, statusCommand, clustersCommand, secretsCommand, serveCommand];
