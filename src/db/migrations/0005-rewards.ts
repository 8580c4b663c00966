import { sql, type Kysely } from 'kysely';

// 2^53: every amount stays a safe JS integer.
const MAX = '9007199254740992';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
-- The catalog. What a reward gives is in "benefit" (its shape depends on kind, checked in code);
-- what it costs and who may take it when are columns, so that redemption can lock and check them.
create table rewards (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  code text check (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  kind text not null check (kind in ('fixed_amount', 'percentage', 'free_shipping', 'free_product', 'store_credit',
    'gift_note', 'donation', 'experience', 'custom')),
  status text not null default 'active' check (status in ('active', 'paused', 'archived')),
  visibility text not null default 'public' check (visibility in ('public', 'hidden')),
  name text not null check (length(name) between 1 and 200),
  description text check (length(description) <= 5000),
  -- per locale: { "ko": { "name": …, "description": …, "terms": … } }
  texts jsonb not null default '{}' check (jsonb_typeof(texts) = 'object'),
  images jsonb not null default '[]' check (jsonb_typeof(images) = 'array'),
  wallet_id uuid not null,
  cost_points bigint not null check (cost_points >= 0 and cost_points < ${MAX}),
  tier_costs jsonb not null default '{}' check (jsonb_typeof(tier_costs) = 'object'),
  allowed_tiers text[],
  benefit jsonb not null default '{}' check (jsonb_typeof(benefit) = 'object'),
  starts_at timestamptz,
  ends_at timestamptz,
  -- ISO weekdays (1 = Monday … 7 = Sunday) in the program's time zone; null: every day
  weekdays smallint[] check (weekdays <@ array[1, 2, 3, 4, 5, 6, 7]::smallint[] and cardinality(weekdays) > 0),
  stock_total integer check (stock_total >= 0),
  stock_remaining integer check (stock_remaining >= 0),
  limit_count integer check (limit_count > 0),
  limit_period text check (limit_period in ('day', 'week', 'month', 'year', 'lifetime')),
  voucher_validity_days integer check (voucher_validity_days between 1 and 3650),
  code_source text not null default 'generated' check (code_source in ('generated', 'pool')),
  code_format jsonb not null default '{}' check (jsonb_typeof(code_format) = 'object'),
  refund_on_expiry boolean not null default false,
  refund_on_cancel boolean not null default true,
  -- 'renewal': the voucher applies to the member's next subscription renewal order only
  usage text not null default 'any' check (usage in ('any', 'renewal')),
  auto_issue boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (program_id, id),
  foreign key (program_id, wallet_id) references wallets (program_id, id),
  check ((stock_total is null) = (stock_remaining is null)),
  check (stock_remaining <= stock_total),
  check ((limit_count is null) = (limit_period is null)),
  check (ends_at is null or starts_at is null or ends_at > starts_at),
  check (not auto_issue or kind = 'gift_note'),
  check (auto_issue = false or cost_points > 0)
);
create unique index rewards_code on rewards (program_id, code) where code is not null;
create index rewards_program on rewards (program_id, created_at, id);
create index rewards_auto_issue on rewards (program_id) where auto_issue and status = 'active';

create table reward_redemptions (
  id uuid primary key,
  program_id uuid not null references programs(id),
  reward_id uuid not null,
  member_id uuid not null,
  wallet_id uuid not null references wallets(id),
  kind text not null,
  points bigint not null check (points >= 0 and points < ${MAX}),
  refunded_points bigint not null default 0 check (refunded_points >= 0 and refunded_points <= points),
  spend_operation_id uuid references operations(id),
  credit_operation_id uuid references operations(id),
  status text not null check (status in ('completed', 'requested', 'fulfilled', 'cancelled')),
  tier text,
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
  note text check (length(note) <= 1000),
  actor text not null,
  created_at timestamptz not null default now(),
  resolved_at timestamptz,
  foreign key (program_id, reward_id) references rewards (program_id, id),
  foreign key (program_id, member_id) references members (program_id, id),
  -- points were taken exactly when there is a spend to restore
  check ((points > 0) = (spend_operation_id is not null)),
  check ((status in ('fulfilled', 'cancelled')) = (resolved_at is not null)),
  -- only a custom reward waits for the merchant; it is never simply completed
  check (case when kind = 'custom' then status <> 'completed' else status in ('completed', 'cancelled') end)
);
create index reward_redemptions_member on reward_redemptions (member_id, reward_id, created_at);
create index reward_redemptions_program on reward_redemptions (program_id, created_at, id);

create table reward_vouchers (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  reward_id uuid not null,
  redemption_id uuid not null unique references reward_redemptions(id),
  member_id uuid not null,
  code text not null check (length(code) between 4 and 64),
  code_normalized text generated always as (upper(code)) stored,
  kind text not null,
  benefit jsonb not null check (jsonb_typeof(benefit) = 'object'),
  status text not null check (status in ('issued', 'consumed', 'expired', 'cancelled')),
  renewal_only boolean not null default false,
  subscription_id text check (length(subscription_id) between 1 and 255),
  refund_on_expiry boolean not null,
  refund_on_cancel boolean not null,
  valid_from timestamptz not null,
  expires_at timestamptz,
  order_id text check (length(order_id) between 1 and 255),
  discount_minor bigint check (discount_minor >= 0 and discount_minor < ${MAX}),
  consumed_at timestamptz,
  resolved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (program_id, reward_id) references rewards (program_id, id),
  foreign key (program_id, member_id) references members (program_id, id),
  unique (program_id, code_normalized),
  check ((status = 'consumed') = (order_id is not null)),
  check ((status = 'consumed') = (consumed_at is not null)),
  check ((status in ('expired', 'cancelled')) = (resolved_at is not null)),
  check (expires_at is null or expires_at > valid_from)
);
create index reward_vouchers_member on reward_vouchers (member_id, created_at);
create index reward_vouchers_order on reward_vouchers (program_id, order_id) where order_id is not null;
create index reward_vouchers_due on reward_vouchers (expires_at) where status = 'issued' and expires_at is not null;

-- Codes created in the shop's platform, handed out one per redemption.
create table reward_pool_codes (
  id bigint generated always as identity primary key,
  program_id uuid not null references programs(id),
  reward_id uuid not null,
  code text not null check (length(code) between 4 and 64),
  code_normalized text generated always as (upper(code)) stored,
  assigned_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (program_id, reward_id) references rewards (program_id, id),
  unique (program_id, code_normalized)
);
create index reward_pool_codes_free on reward_pool_codes (reward_id, id) where assigned_at is null;

-- Running totals per charity cause (donation rewards name their cause).
create table donation_totals (
  program_id uuid not null references programs(id),
  cause text not null check (cause ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  points bigint not null default 0 check (points >= 0 and points < ${MAX}),
  donations integer not null default 0 check (donations >= 0),
  updated_at timestamptz not null default now(),
  primary key (program_id, cause)
);

-- Pay with points: how a wallet's points convert into money at checkout.
create table points_payment_settings (
  program_id uuid not null references programs(id),
  wallet_id uuid not null,
  enabled boolean not null default true,
  -- rate_points points pay for rate_amount_minor of the program's currency (75 points = 1000 → $10)
  rate_points bigint not null check (rate_points > 0 and rate_points < ${MAX}),
  rate_amount_minor bigint not null check (rate_amount_minor > 0 and rate_amount_minor < ${MAX}),
  minimum_points bigint not null default 0 check (minimum_points >= 0 and minimum_points < ${MAX}),
  max_share_percent smallint not null default 100 check (max_share_percent between 1 and 100),
  timeout_ms integer not null default 900000 check (timeout_ms between 1000 and 604800000),
  updated_at timestamptz not null default now(),
  primary key (program_id, wallet_id),
  foreign key (program_id, wallet_id) references wallets (program_id, id)
);

create table points_payments (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  member_id uuid not null,
  wallet_id uuid not null references wallets(id),
  order_id text not null check (length(order_id) between 1 and 255),
  reservation_id uuid not null unique references reservations(id),
  points bigint not null check (points > 0 and points < ${MAX}),
  amount_minor bigint not null check (amount_minor > 0 and amount_minor < ${MAX}),
  order_total_minor bigint not null check (order_total_minor > 0 and order_total_minor < ${MAX}),
  status text not null check (status in ('reserved', 'captured', 'cancelled', 'expired')),
  captured_points bigint not null default 0 check (captured_points >= 0 and captured_points <= points),
  captured_minor bigint not null default 0 check (captured_minor >= 0 and captured_minor <= amount_minor),
  post_operation_id uuid references operations(id),
  refunded_minor bigint not null default 0 check (refunded_minor >= 0 and refunded_minor <= order_total_minor),
  restored_points bigint not null default 0 check (restored_points >= 0 and restored_points <= captured_points),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (program_id, member_id) references members (program_id, id),
  check (amount_minor <= order_total_minor),
  check ((status = 'captured') = (post_operation_id is not null)),
  check (status = 'captured' or (captured_points = 0 and captured_minor = 0 and refunded_minor = 0))
);
-- one live points payment per order
create unique index points_payments_order on points_payments (program_id, order_id) where status in ('reserved', 'captured');
`).execute(db);
}
