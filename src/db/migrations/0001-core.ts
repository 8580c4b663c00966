import { sql, type Kysely } from 'kysely';

// 2^53: every amount and balance stays a safe JS integer.
const MAX = '9007199254740992';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create table programs (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  currency_exponent smallint not null check (currency_exponent between 0 and 4),
  time_zone text not null check (length(time_zone) between 1 and 64),
  reversal_policy text not null default 'allow_negative'
    check (reversal_policy in ('allow_negative', 'take_remaining')),
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table stores (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  code text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  name text not null check (length(name) between 1 and 200),
  kind text not null check (kind in ('online', 'pos', 'marketplace', 'app')),
  currency char(3) check (currency ~ '^[A-Z]{3}$'),
  created_at timestamptz not null default now(),
  unique (program_id, code),
  unique (program_id, id)
);

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  name text not null check (length(name) between 1 and 200),
  -- the visible start of the key, to tell keys apart in listings; never enough to use it
  prefix text not null,
  -- sha256 of the whole key: the key has 256 bits of entropy, so a slow hash adds nothing
  key_hash bytea not null unique check (length(key_hash) = 32),
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
create index api_keys_program on api_keys (program_id);

create table members (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  customer_id text check (length(customer_id) between 1 and 255),
  email text check (length(email) between 3 and 320 and position('@' in email) > 1),
  email_normalized text generated always as (lower(email)) stored,
  phone text check (phone ~ '^\\+[1-9][0-9]{6,14}$'),
  first_name text check (length(first_name) <= 200),
  last_name text check (length(last_name) <= 200),
  birthday date,
  locale text check (length(locale) between 2 and 35),
  marketing_consent boolean not null default false,
  tags text[] not null default '{}',
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  status text not null default 'active' check (status in ('active', 'blocked')),
  enrollment_source text not null default 'api' check (length(enrollment_source) between 1 and 64),
  enrolled_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (program_id, id)
);
create unique index members_customer_id on members (program_id, customer_id) where customer_id is not null;
create unique index members_email on members (program_id, email_normalized) where email is not null;
create unique index members_phone on members (program_id, phone) where phone is not null;
create index members_program_created on members (program_id, created_at, id);
create index members_tags on members using gin (tags);

create table wallets (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  code text not null check (code ~ '^[a-z][a-z0-9_]{0,31}$'),
  name text not null check (length(name) between 1 and 200),
  unit text not null check (unit in ('points', 'currency')),
  expiry_kind text not null default 'never'
    check (expiry_kind in ('never', 'days_after_earn', 'end_of_month', 'end_of_year', 'inactivity')),
  expiry_count integer not null default 0 check (expiry_count between 0 and 36500),
  pending_days integer not null default 0 check (pending_days between 0 and 3650),
  created_at timestamptz not null default now(),
  unique (program_id, code),
  unique (program_id, id),
  check (expiry_kind in ('never', 'end_of_month', 'end_of_year') or expiry_count > 0)
);

-- Accounts: three per member and wallet (available, pending, reserved) and one per program,
-- wallet and kind on the program side. Program-side balances are not cached: every earn would
-- otherwise update the same "issued" row and serialise the whole program on one lock.
create table accounts (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  wallet_id uuid not null references wallets(id),
  member_id uuid references members(id),
  kind text not null check (kind in ('available', 'pending', 'reserved',
    'issued', 'redeemed', 'expired', 'reversed', 'adjusted', 'transfers')),
  balance bigint,
  unique nulls not distinct (wallet_id, member_id, kind),
  check ((member_id is not null) = (kind in ('available', 'pending', 'reserved'))),
  check ((member_id is not null) = (balance is not null)),
  -- only available may go below zero (a clawback under the allow_negative policy)
  check (balance is null or kind = 'available' or balance >= 0),
  check (balance is null or (balance > -${MAX} and balance < ${MAX}))
);

-- One row per member and wallet: the lock every ledger operation on that member takes first,
-- and lifetime counters for balance reads.
create table member_wallets (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  member_id uuid not null references members(id),
  wallet_id uuid not null references wallets(id),
  available_account_id bigint not null references accounts(id),
  pending_account_id bigint not null references accounts(id),
  reserved_account_id bigint not null references accounts(id),
  earned bigint not null default 0 check (earned >= 0 and earned < ${MAX}),
  spent bigint not null default 0 check (spent >= 0 and spent < ${MAX}),
  expired bigint not null default 0 check (expired >= 0 and expired < ${MAX}),
  reversed bigint not null default 0 check (reversed >= 0 and reversed < ${MAX}),
  restored bigint not null default 0 check (restored >= 0 and restored < ${MAX}),
  adjusted_in bigint not null default 0 check (adjusted_in >= 0 and adjusted_in < ${MAX}),
  adjusted_out bigint not null default 0 check (adjusted_out >= 0 and adjusted_out < ${MAX}),
  transferred_in bigint not null default 0 check (transferred_in >= 0 and transferred_in < ${MAX}),
  transferred_out bigint not null default 0 check (transferred_out >= 0 and transferred_out < ${MAX}),
  last_activity_at timestamptz,
  created_at timestamptz not null default now(),
  unique (member_id, wallet_id)
);

-- An operation is one request's effect on the ledger (earn, spend, reserve...); its entries
-- are the movements between accounts it made.
create table operations (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  wallet_id uuid not null references wallets(id),
  member_id uuid references members(id),
  kind text not null check (kind in ('earn', 'spend', 'reserve', 'post', 'void', 'expire_reservation',
    'reverse', 'restore', 'adjust', 'transfer')),
  amount bigint not null check (amount >= 0 and amount < ${MAX}),
  -- for earns: how much of it refunds have taken back; for spends and posts: given back
  reversed bigint not null default 0 check (reversed >= 0 and reversed <= amount),
  restored bigint not null default 0 check (restored >= 0 and restored <= amount),
  target_operation_id uuid references operations(id),
  reservation_id uuid,
  counterpart_member_id uuid references members(id),
  reference_type text check (length(reference_type) between 1 and 64),
  reference_id text check (length(reference_id) between 1 and 255),
  description text check (length(description) <= 500),
  reason text check (length(reason) <= 500),
  actor text not null,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  check (kind <> 'adjust' or reason is not null)
);
create index operations_member on operations (member_id, created_at);
create index operations_reference on operations (program_id, reference_type, reference_id);

create table lots (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  wallet_id uuid not null references wallets(id),
  member_id uuid not null references members(id),
  operation_id uuid not null references operations(id),
  amount bigint not null check (amount > 0 and amount < ${MAX}),
  remaining bigint not null check (remaining >= 0 and remaining <= amount),
  vested boolean not null,
  vests_at timestamptz,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  check (vested or vests_at is not null)
);
create index lots_member_live on lots (member_id, wallet_id, expires_at) where remaining > 0;
create index lots_due_expiry on lots (expires_at) where remaining > 0 and expires_at is not null;
create index lots_due_vesting on lots (vests_at) where not vested;
create index lots_operation on lots (operation_id);

create table entries (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  wallet_id uuid not null references wallets(id),
  member_id uuid references members(id),
  operation_id uuid references operations(id),
  kind text not null check (kind in ('earn', 'spend', 'reserve', 'post', 'release',
    'reverse', 'restore', 'expire', 'vest', 'adjust', 'transfer')),
  amount bigint not null check (amount > 0 and amount < ${MAX}),
  debit_account_id bigint not null references accounts(id),
  credit_account_id bigint not null references accounts(id),
  lot_id bigint references lots(id),
  -- change of the lot's remaining made by this entry (a vest into a negative balance settles
  -- debt, so it can differ from amount)
  lot_delta bigint not null default 0 check (lot_delta > -${MAX} and lot_delta < ${MAX}),
  created_at timestamptz not null default now(),
  check (debit_account_id <> credit_account_id),
  check (lot_id is not null or lot_delta = 0)
);
create index entries_member on entries (member_id, wallet_id, id);
create index entries_operation on entries (operation_id);
create index entries_lot on entries (lot_id);
create index entries_debit on entries (debit_account_id);
create index entries_credit on entries (credit_account_id);

create function laurel_entries_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'ledger entries are immutable (% on entry %)', tg_op, old.id
    using errcode = 'restrict_violation';
end $$;
create trigger entries_immutable before update or delete on entries
  for each row execute function laurel_entries_immutable();
create trigger entries_no_truncate before truncate on entries
  for each statement execute function laurel_entries_immutable();

-- Which lots a spend, reservation or transfer consumed, so a refund gives points back to them.
create table lot_allocations (
  operation_id uuid not null references operations(id),
  lot_id bigint not null references lots(id),
  amount bigint not null check (amount > 0 and amount < ${MAX}),
  released bigint not null default 0 check (released >= 0 and released <= amount),
  seq integer not null,
  primary key (operation_id, lot_id)
);
create index lot_allocations_lot on lot_allocations (lot_id);

create table reservations (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  wallet_id uuid not null references wallets(id),
  member_id uuid not null references members(id),
  operation_id uuid not null references operations(id),
  amount bigint not null check (amount > 0 and amount < ${MAX}),
  posted_amount bigint not null default 0 check (posted_amount >= 0 and posted_amount <= amount),
  status text not null check (status in ('pending', 'posted', 'voided', 'expired')),
  expires_at timestamptz not null,
  resolved_at timestamptz,
  post_operation_id uuid references operations(id),
  reference_type text,
  reference_id text,
  created_at timestamptz not null default now(),
  check ((status = 'pending') = (resolved_at is null)),
  check (status = 'posted' or posted_amount = 0)
);
create index reservations_due on reservations (expires_at) where status = 'pending';
create index reservations_member on reservations (member_id, created_at);

create table idempotency_keys (
  program_id uuid not null references programs(id),
  key text not null check (length(key) between 1 and 255),
  request_hash text not null,
  response_status integer not null,
  response_body jsonb not null,
  created_at timestamptz not null default now(),
  primary key (program_id, key)
);
create index idempotency_keys_created on idempotency_keys (created_at);

create table audit_events (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  actor text not null,
  action text not null,
  subject_type text not null,
  subject_id text not null,
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index audit_events_program on audit_events (program_id, id);

-- Transactional outbox: every domain change writes its event in the same transaction.
create table events (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  type text not null,
  member_id uuid,
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index events_program on events (program_id, id);
`).execute(db);
}
