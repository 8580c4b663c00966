import type { Migration } from 'kysely';
import * as core from './0001-core.ts';

/** Forward-only: a migration, once released, is never edited; changes come as new ones. */
export const migrations: Record<string, Migration> = {
  '0001-core': core,
};
