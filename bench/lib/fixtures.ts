import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import { fileChunks, hashFile } from '../../src/imports/import-source.ts';
import { importMembers, type MemberImportReport } from '../../src/imports/member-import.ts';
import { createProgram, type WalletInput } from '../../src/programs/program-operations.ts';

const AREAS = [201, 202, 212, 213, 305, 312, 415, 512, 617, 646, 702, 713, 718, 801, 919];

/** A valid, unique North American number per index. */
export function phoneOf(i: number): string {
  const rest = Math.floor(i / AREAS.length);
  return `+1${AREAS[i % AREAS.length]}${200 + (rest % 700)}${String(Math.floor(rest / 700) % 10_000).padStart(4, '0')}`;
}

/**
 * A member import file of `count` customers, every column filled (customer id, email, phone,
 * names, birthday, locale, consent, tags, opening balance with its expiry).
 */
export async function writeMemberCsv(path: string, count: number, options: { prefix: string; expiresAt: Date }) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  out.write('customer_id,email,phone,first_name,last_name,birthday,locale,marketing_consent,tags,balance,expires_at\n');
  const expires = options.expiresAt.toISOString();
  const locales = ['en', 'ko', 'ja', 'zh-Hant', 'th', 'en-GB'];
  let buffer = '';
  for (let i = 0; i < count; i++) {
    const id = `${options.prefix}${i}`;
    buffer += `${id},${id}@example.com,${phoneOf(i)},First${i % 997},Last${i % 991},${1950 + (i % 50)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')},${locales[i % locales.length]},${i % 3 === 0 ? 'no' : 'yes'},${i % 10 === 0 ? 'vip|newsletter' : 'newsletter'},${100 + (i % 4_900)},${expires}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.write(buffer);
  out.end();
  await once(out, 'finish');
}

export async function importFile(db: Db, programId: string, path: string): Promise<MemberImportReport> {
  return importMembers(db, { programId, actor: 'bench', format: 'csv', source: fileChunks(path), contentHash: await hashFile(path) });
}

export interface BenchProgram {
  id: string;
  key: string;
  walletId: string;
  members: { id: string; availableAccountId: number }[];
  issuedAccountId: number;
}

/** A program with one never-expiring wallet and `count` members holding `balance` points each (through the importer). */
export async function benchProgram(db: Db, options: { name: string; members: number; balance: number; file: string; wallets?: WalletInput[] }): Promise<BenchProgram> {
  const { program, apiKey } = await createProgram(db, {
    name: options.name, currency: 'USD', timeZone: 'America/New_York', wallets: options.wallets ?? [{ code: 'points', name: 'Points' }],
  });
  await writeMemberCsv(options.file, options.members, { prefix: `${options.name}-`, expiresAt: new Date(Date.now() + 3_650 * 86_400_000) });
  const report = await importFile(db, program.id, options.file);
  if (report.status !== 'completed') throw new Error(`bench data import failed: ${JSON.stringify(report.errors.slice(0, 5))}`);
  const { rows } = await sql<{ member_id: string; available_account_id: number; wallet_id: string }>`
    select mw.member_id, mw.available_account_id, mw.wallet_id from member_wallets mw join wallets w on w.id = mw.wallet_id
    where mw.program_id = ${program.id} and w.code = 'points'`.execute(db);
  const issued = await db.selectFrom('accounts').select('id').where('wallet_id', '=', rows[0]!.wallet_id).where('member_id', 'is', null).where('kind', '=', 'issued').executeTakeFirstOrThrow();
  return {
    id: program.id, key: apiKey, walletId: rows[0]!.wallet_id, issuedAccountId: issued.id,
    members: rows.map((r) => ({ id: r.member_id, availableAccountId: r.available_account_id })),
  };
}
