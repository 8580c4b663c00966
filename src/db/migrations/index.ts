import type { Migration } from 'kysely';
import * as core from './0001-core.ts';
import * as ordersRules from './0002-orders-rules.ts';
import * as webhooksMessages from './0003-webhooks-messages.ts';
import * as tiers from './0004-tiers.ts';
import * as rewards from './0005-rewards.ts';
import * as imports from './0006-imports.ts';
import * as cursorPrecision from './0007-cursor-precision.ts';
import * as orderTierIndex from './0008-order-tier-index.ts';
import * as claimKeys from './0009-claim-keys.ts';
import * as lockWallets from './0010-lock-wallets.ts';
import * as walletFillfactor from './0011-wallet-fillfactor.ts';
import * as balanceSnapshots from './0012-balance-snapshots.ts';
import * as lotsMemberVesting from './0013-lots-member-vesting.ts';
import * as orderTierIndexByOrder from './0014-order-tier-index-by-order.ts';
import * as earlierOrders from './0015-earlier-orders.ts';
import * as claimKeysLockingWallets from './0016-claim-keys-locking-wallets.ts';
import * as timeOrderedIds from './0017-time-ordered-ids.ts';
import * as tenantKeyedReferences from './0018-tenant-keyed-references.ts';

/** Forward-only: a migration, once released, is never edited; changes come as new ones. */
export const migrations: Record<string, Migration> = {
  '0001-core': core,
  '0002-orders-rules': ordersRules,
  '0003-webhooks-messages': webhooksMessages,
  '0004-tiers': tiers,
  '0005-rewards': rewards,
  '0006-imports': imports,
  '0007-cursor-precision': cursorPrecision,
  '0008-order-tier-index': orderTierIndex,
  '0009-claim-keys': claimKeys,
  '0010-lock-wallets': lockWallets,
  '0011-wallet-fillfactor': walletFillfactor,
  '0012-balance-snapshots': balanceSnapshots,
  '0013-lots-member-vesting': lotsMemberVesting,
  '0014-order-tier-index-by-order': orderTierIndexByOrder,
  '0015-earlier-orders': earlierOrders,
  '0016-claim-keys-locking-wallets': claimKeysLockingWallets,
  '0017-time-ordered-ids': timeOrderedIds,
  '0018-tenant-keyed-references': tenantKeyedReferences,
};
