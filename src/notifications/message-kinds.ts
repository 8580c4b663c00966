/**
 * The lifecycle messages Laurel can send, what triggers each, and whether it is marketing (sent
 * only to members with marketing consent) or a service message about the member's own account
 * (sent unless they unsubscribed from all loyalty messages).
 */
export const MESSAGE_KINDS = [
  'welcome', 'points_earned', 'reward_affordable', 'points_to_next', 'points_expiring', 'tier_up', 'birthday', 'at_risk', 'post_purchase',
] as const;

export type MessageKind = (typeof MESSAGE_KINDS)[number];

export interface KindInfo {
  kind: MessageKind;
  /** The event type that triggers it. */
  trigger: string;
  marketing: boolean;
  description: string;
}

export const KIND_INFO: Record<MessageKind, KindInfo> = {
  welcome: { kind: 'welcome', trigger: 'member.created', marketing: false, description: 'Welcome to the program, once per member' },
  points_earned: { kind: 'points_earned', trigger: 'points.earned', marketing: false, description: 'Points earned, with the new balance' },
  reward_affordable: { kind: 'reward_affordable', trigger: 'reward.affordable', marketing: true, description: 'The member can now afford a reward' },
  points_to_next: {
    kind: 'points_to_next', trigger: 'points.earned', marketing: true,
    description: 'After an earn: N points to the next tier or reward, when the gap is at most the configured threshold (once per target)',
  },
  points_expiring: { kind: 'points_expiring', trigger: 'points.expiring_soon', marketing: false, description: 'Points expire in N days' },
  tier_up: { kind: 'tier_up', trigger: 'tier.changed', marketing: false, description: 'Moved up a tier (direction "up" only)' },
  birthday: { kind: 'birthday', trigger: 'member.birthday', marketing: true, description: 'Happy birthday, with the birthday reward if any' },
  at_risk: { kind: 'at_risk', trigger: 'member.at_risk', marketing: true, description: 'Win-back: the member has not purchased for a while' },
  post_purchase: { kind: 'post_purchase', trigger: 'order.paid', marketing: true, description: 'Thank you after a paid order' },
};

export function isMessageKind(value: string): value is MessageKind {
  return (MESSAGE_KINDS as readonly string[]).includes(value);
}

/** The variables every template may use ({{name}}); those that do not apply to a message are empty. */
export const TEMPLATE_VARIABLES = {
  name: 'First name, or a polite generic word when unknown',
  firstName: 'First name (may be empty)',
  lastName: 'Last name (may be empty)',
  programName: 'Name of the loyalty program',
  balance: 'Available balance of the wallet concerned, formatted in the member’s locale',
  walletName: 'Name of the wallet concerned',
  points: 'Points of the event: earned, expiring, birthday gift…',
  expiryDate: 'Last day the expiring points can be used, in the member’s locale (program time zone)',
  daysLeft: 'Days until the points expire',
  rewardName: 'The reward concerned (affordable, or the next reward)',
  rewardCost: 'Its cost in points',
  pointsToNextReward: 'Points still missing for the next reward',
  tierName: 'The member’s tier (after a tier change: the new tier)',
  previousTierName: 'The tier before a tier change',
  nextTierName: 'The next tier',
  nextTierGap: 'What is missing for the next tier, formatted in its unit (points, money or orders)',
  daysSinceLastPurchase: 'Days since the last purchase (at-risk)',
  orderId: 'The shop’s order id (post-purchase)',
  unsubscribeUrl: 'Link to unsubscribe from these messages',
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

export const SHIPPED_LOCALES = ['en', 'ko', 'ja', 'zh-Hant', 'th'] as const;
