import { sql, type Kysely } from 'kysely';

/** The one reference of a ledger row to its member's wallet in its program, for the three it implies. */
const memberWalletReference = (table: string) => `
  add constraint ${table}_member_wallet_fkey foreign key (program_id, member_id, wallet_id)
    references member_wallets (program_id, member_id, wallet_id),
  drop constraint ${table}_program_id_fkey,
  drop constraint ${table}_wallet_id_fkey,
  drop constraint ${table}_member_id_fkey`;

/**
 * The rows an order or an earn writes name their program through the row they belong to, in one
 * composite reference, instead of through a reference to `programs` of their own:
 *
 * - an operation, a lot and an entry: (program, member, wallet) is one of the member's wallets
 *   in that program (`member_wallets`), which replaces three references (program, wallet,
 *   member) with one;
 * - an award and a rule's points: (program, member) is a member of that program;
 * - an order event and an order's award: (program, order) is an order of that program;
 * - a transfer's counterpart: (program, counterpart) is a member of that program.
 *
 * What the database guarantees grows: before, an entry could name one program and another
 * program's member or wallet; now the three must agree. And the checks it runs shrink: PostgreSQL
 * checks each reference of each new row with a query that locks the referenced row (FOR KEY
 * SHARE). The program's row and its wallet's row are the same for every request, so concurrent
 * transactions share those locks (a MultiXact each time), and a new order made 31 such checks, 15
 * of them on those few shared rows (docs/benchmarks.md, "Tenant-keyed references"). The member's
 * wallet row is the one each ledger operation has already locked for update.
 *
 * Every operation and entry already names its member (the code never wrote one without); the
 * columns become NOT NULL so that the composite reference, which PostgreSQL skips when a column
 * is null, always applies.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
alter table member_wallets add constraint member_wallets_program_member_wallet_key unique (program_id, member_id, wallet_id);

alter table operations alter column member_id set not null;
alter table operations ${memberWalletReference('operations')},
  add constraint operations_counterpart_fkey foreign key (program_id, counterpart_member_id)
    references members (program_id, id),
  drop constraint operations_counterpart_member_id_fkey;

alter table lots ${memberWalletReference('lots')};

alter table entries alter column member_id set not null;
alter table entries ${memberWalletReference('entries')};

alter table awards
  add constraint awards_member_fkey foreign key (program_id, member_id) references members (program_id, id),
  add constraint awards_order_fkey foreign key (program_id, order_id) references orders (program_id, id),
  drop constraint awards_program_id_fkey,
  drop constraint awards_member_id_fkey,
  drop constraint awards_order_id_fkey;

alter table rule_points
  add constraint rule_points_member_fkey foreign key (program_id, member_id) references members (program_id, id),
  drop constraint rule_points_program_id_fkey,
  drop constraint rule_points_member_id_fkey;

alter table order_events
  add constraint order_events_order_fkey foreign key (program_id, order_id) references orders (program_id, id),
  drop constraint order_events_program_id_fkey,
  drop constraint order_events_order_id_fkey;
`).execute(db);
}
