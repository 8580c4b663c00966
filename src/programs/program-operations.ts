import { isSupportedCountry } from 'libphonenumber-js/max';
import type { Db, Executor } from '../db/database.ts';
import type { ExpiryKind } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';
import { generateApiKey, hashApiKey, looksLikeApiKey } from './api-key.ts';
import { assertTimeZone, currencyExponent } from './currency.ts';
import * as repo from './program-repository.ts';

export type ReversalPolicy = 'allow_negative' | 'take_remaining';

export interface ProgramInput {
  name: string;
  currency: string;
  timeZone: string;
  reversalPolicy?: ReversalPolicy;
  settings?: Record<string, unknown>;
}

export interface WalletInput {
  code: string;
  name: string;
  unit?: 'points' | 'currency';
  expiry?: { kind: ExpiryKind; count?: number };
  pendingDays?: number;
}

type ProgramRow = NonNullable<Awaited<ReturnType<typeof repo.findProgram>>>;
type WalletRow = NonNullable<Awaited<ReturnType<typeof repo.findWalletById>>>;
type StoreRow = NonNullable<Awaited<ReturnType<typeof repo.findStore>>>;
type ApiKeyRow = Awaited<ReturnType<typeof repo.listApiKeys>>[number];

export function programView(p: ProgramRow) {
  return {
    id: p.id,
    name: p.name,
    currency: p.currency,
    currencyExponent: p.currency_exponent,
    timeZone: p.time_zone,
    reversalPolicy: p.reversal_policy,
    settings: p.settings,
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
  };
}

export function walletView(w: WalletRow) {
  return {
    id: w.id,
    code: w.code,
    name: w.name,
    unit: w.unit,
    expiry: { kind: w.expiry_kind, count: w.expiry_count },
    pendingDays: w.pending_days,
    createdAt: w.created_at.toISOString(),
  };
}

export function storeView(s: StoreRow) {
  return { id: s.id, code: s.code, name: s.name, kind: s.kind, currency: s.currency, createdAt: s.created_at.toISOString() };
}

export function apiKeyView(k: ApiKeyRow) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.created_at.toISOString(),
    revokedAt: k.revoked_at?.toISOString() ?? null,
    lastUsedAt: k.last_used_at?.toISOString() ?? null,
  };
}

function walletValues(input: WalletInput): repo.WalletValues {
  const kind = input.expiry?.kind ?? 'never';
  const count = input.expiry?.count ?? 0;
  if ((kind === 'days_after_earn' || kind === 'inactivity') && count < 1) {
    throw new ProblemError('validation_failed', `expiry kind "${kind}" needs a count of at least 1 day`);
  }
  if (kind === 'never' && count !== 0) {
    throw new ProblemError('validation_failed', 'expiry kind "never" takes no count');
  }
  return {
    code: input.code,
    name: input.name,
    unit: input.unit ?? 'points',
    expiry_kind: kind,
    expiry_count: count,
    pending_days: input.pendingDays ?? 0,
  };
}

/** Settings Laurel itself reads; anything else in settings is the client's own. */
function assertSettings(settings: Record<string, unknown> | undefined) {
  const country = settings?.defaultCountry;
  if (country !== undefined && (typeof country !== 'string' || !isSupportedCountry(country))) {
    throw new ProblemError('validation_failed', 'settings.defaultCountry must be an ISO 3166-1 alpha-2 country code such as "US" or "KR"', { field: 'settings.defaultCountry' });
  }
}

export async function createProgram(db: Db, input: ProgramInput & { keyName?: string; wallets?: WalletInput[] }) {
  const exponent = currencyExponent(input.currency);
  assertTimeZone(input.timeZone);
  assertSettings(input.settings);
  return db.transaction().execute(async (trx) => {
    const program = await repo.insertProgram(trx, {
      name: input.name,
      currency: input.currency,
      currency_exponent: exponent,
      time_zone: input.timeZone,
      reversal_policy: input.reversalPolicy ?? 'allow_negative',
      settings: input.settings ?? {},
    });
    const wallets = input.wallets ?? [{ code: 'points', name: 'Points' }];
    for (const wallet of wallets) {
      const row = await repo.insertWallet(trx, program.id, walletValues(wallet));
      if (!row) throw new ProblemError('wallet_conflict', `wallet "${wallet.code}" is listed twice`);
    }
    const key = generateApiKey();
    const keyRow = await repo.insertApiKey(trx, program.id, { name: input.keyName ?? 'admin', prefix: key.prefix, key_hash: key.hash });
    await repo.insertAuditEvent(trx, { program_id: program.id, actor: 'system', action: 'program.created', subject_type: 'program', subject_id: program.id });
    return { program, apiKey: key.secret, apiKeyId: keyRow.id };
  });
}

export async function getProgram(db: Executor, programId: string) {
  const program = await repo.findProgram(db, programId);
  if (!program) throw new ProblemError('program_not_found');
  return program;
}

export async function updateProgram(db: Db, programId: string, actor: string, input: Partial<ProgramInput>) {
  if (input.timeZone !== undefined) assertTimeZone(input.timeZone);
  assertSettings(input.settings);
  return db.transaction().execute(async (trx) => {
    const row = await repo.updateProgramRow(trx, programId, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.timeZone !== undefined ? { time_zone: input.timeZone } : {}),
      ...(input.reversalPolicy !== undefined ? { reversal_policy: input.reversalPolicy } : {}),
      ...(input.settings !== undefined ? { settings: input.settings } : {}),
    });
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'program.updated', subject_type: 'program', subject_id: programId, details: input });
    return row;
  });
}

export async function createWallet(db: Db, programId: string, actor: string, input: WalletInput) {
  const values = walletValues(input);
  return db.transaction().execute(async (trx) => {
    const wallet = await repo.insertWallet(trx, programId, values);
    if (!wallet) throw new ProblemError('wallet_conflict', `a wallet with code "${input.code}" already exists`);
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'wallet.created', subject_type: 'wallet', subject_id: wallet.id, details: { ...input } });
    return wallet;
  });
}

export async function getWallet(db: Executor, programId: string, code: string) {
  const wallet = await repo.findWalletByCode(db, programId, code);
  if (!wallet) throw new ProblemError('wallet_not_found', `no wallet "${code}" in this program`);
  return wallet;
}

/** A changed expiry or pending policy applies to points earned from now on; existing lots keep their dates. */
export async function updateWallet(db: Db, programId: string, code: string, actor: string, input: Partial<Omit<WalletInput, 'code' | 'unit'>>) {
  const current = await getWallet(db, programId, code);
  const merged = walletValues({
    code,
    name: input.name ?? current.name,
    unit: current.unit,
    expiry: input.expiry ?? { kind: current.expiry_kind, count: current.expiry_count },
    pendingDays: input.pendingDays ?? current.pending_days,
  });
  return db.transaction().execute(async (trx) => {
    const { code: _code, unit: _unit, ...values } = merged;
    const wallet = await repo.updateWalletRow(trx, programId, code, values);
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'wallet.updated', subject_type: 'wallet', subject_id: current.id, details: input });
    return wallet!;
  });
}

export async function createStore(db: Db, programId: string, actor: string, input: { code: string; name: string; kind: 'online' | 'pos' | 'marketplace' | 'app'; currency?: string | null }) {
  if (input.currency) currencyExponent(input.currency);
  return db.transaction().execute(async (trx) => {
    const store = await repo.insertStore(trx, programId, { code: input.code, name: input.name, kind: input.kind, currency: input.currency ?? null });
    if (!store) throw new ProblemError('store_conflict', `a store with code "${input.code}" already exists`);
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'store.created', subject_type: 'store', subject_id: store.id, details: input });
    return store;
  });
}

export async function getStore(db: Executor, programId: string, id: string) {
  const store = await repo.findStore(db, programId, id);
  if (!store) throw new ProblemError('store_not_found');
  return store;
}

export async function updateStore(db: Db, programId: string, id: string, actor: string, input: Partial<{ name: string; kind: 'online' | 'pos' | 'marketplace' | 'app'; currency: string | null }>) {
  if (input.currency) currencyExponent(input.currency);
  return db.transaction().execute(async (trx) => {
    const store = await repo.updateStoreRow(trx, programId, id, input);
    if (!store) throw new ProblemError('store_not_found');
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'store.updated', subject_type: 'store', subject_id: id, details: input });
    return store;
  });
}

export async function createApiKey(db: Db, programId: string, actor: string, name: string) {
  const key = generateApiKey();
  return db.transaction().execute(async (trx) => {
    const row = await repo.insertApiKey(trx, programId, { name, prefix: key.prefix, key_hash: key.hash });
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'api_key.created', subject_type: 'api_key', subject_id: row.id, details: { name } });
    return { row, secret: key.secret };
  });
}

export async function revokeApiKey(db: Db, programId: string, id: string, actor: string) {
  return db.transaction().execute(async (trx) => {
    const row = await repo.revokeApiKeyRow(trx, programId, id);
    if (!row) {
      // Revoking a revoked key is a no-op that answers with the first revocation.
      const existing = await repo.findApiKey(trx, programId, id);
      if (!existing) throw new ProblemError('api_key_not_found');
      return existing;
    }
    await repo.insertAuditEvent(trx, { program_id: programId, actor, action: 'api_key.revoked', subject_type: 'api_key', subject_id: id });
    return row;
  });
}

const LAST_USED_PRECISION_MS = 60_000;

/** Who a request acts for: one API key of one program. Frozen: one object serves every request of a cached key. */
export interface Principal {
  readonly programId: string;
  readonly keyId: string;
  /** How its changes are attributed in operations and the audit trail. */
  readonly actor: string;
}

export async function authenticate(db: Executor, secret: string): Promise<Principal | undefined> {
  if (!looksLikeApiKey(secret)) return undefined;
  const row = await repo.findActiveKeyByHash(db, hashApiKey(secret));
  if (!row) return undefined;
  // Minute precision is enough to tell unused keys apart, and spares a write per request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_PRECISION_MS) await repo.touchApiKey(db, row.id);
  return Object.freeze({ programId: row.program_id, keyId: row.id, actor: `api_key:${row.id}` });
}
