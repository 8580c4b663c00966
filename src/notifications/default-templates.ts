import type { MessageKind } from './message-kinds.ts';

export interface TemplateText {
  subject: string;
  body: string;
}

/** Words a message needs besides its template, per shipped locale. */
export const LOCALE_STRINGS: Record<string, { genericName: string; unsubscribe: string; unsubscribePage: { title: string; confirm: string; done: string; invalid: string } }> = {
  en: {
    genericName: 'there',
    unsubscribe: 'Unsubscribe from these e-mails',
    unsubscribePage: { title: 'Unsubscribe', confirm: 'Stop all loyalty messages from {{programName}}', done: 'You will no longer receive loyalty messages from {{programName}}.', invalid: 'This unsubscribe link is not valid.' },
  },
  ko: {
    genericName: '고객',
    unsubscribe: '이메일 수신 거부',
    unsubscribePage: { title: '수신 거부', confirm: '{{programName}}의 모든 멤버십 메시지 수신 거부', done: '이제 {{programName}}의 멤버십 메시지를 더 이상 받지 않습니다.', invalid: '유효하지 않은 수신 거부 링크입니다.' },
  },
  ja: {
    genericName: 'お客',
    unsubscribe: '配信停止',
    unsubscribePage: { title: '配信停止', confirm: '{{programName}}からの会員向けメッセージをすべて停止する', done: '{{programName}}からの会員向けメッセージの配信を停止しました。', invalid: 'この配信停止リンクは無効です。' },
  },
  'zh-Hant': {
    genericName: '會員',
    unsubscribe: '取消訂閱這些電子郵件',
    unsubscribePage: { title: '取消訂閱', confirm: '停止接收{{programName}}的所有會員訊息', done: '您將不再收到{{programName}}的會員訊息。', invalid: '此取消訂閱連結無效。' },
  },
  th: {
    genericName: 'ลูกค้า',
    unsubscribe: 'ยกเลิกการรับอีเมลเหล่านี้',
    unsubscribePage: { title: 'ยกเลิกการรับข่าวสาร', confirm: 'หยุดรับข้อความสมาชิกทั้งหมดจาก {{programName}}', done: 'คุณจะไม่ได้รับข้อความสมาชิกจาก {{programName}} อีกต่อไป', invalid: 'ลิงก์ยกเลิกการรับข่าวสารนี้ไม่ถูกต้อง' },
  },
};

const NEXT_TIER_EN = '{{#nextTierName}}Only {{nextTierGap}} to go until {{nextTierName}}.{{/nextTierName}}';

/** The templates Laurel ships; a merchant's own version of a (kind, locale) replaces it. */
export const DEFAULT_TEMPLATES: Record<MessageKind, Record<string, TemplateText>> = {
  welcome: {
    en: {
      subject: 'Welcome to {{programName}}, {{name}}!',
      body: 'Hi {{name}},\n\nThank you for joining {{programName}}. You earn points with every purchase and can spend them on rewards.\n\nSee you soon!',
    },
    ko: {
      subject: '{{programName}}에 오신 것을 환영합니다, {{name}}님!',
      body: '{{name}}님, 안녕하세요.\n\n{{programName}}에 가입해 주셔서 감사합니다. 구매할 때마다 포인트가 적립되며, 적립된 포인트로 리워드를 받으실 수 있습니다.\n\n곧 다시 만나요!',
    },
    ja: {
      subject: '{{programName}}へようこそ、{{name}}様',
      body: '{{name}}様\n\n{{programName}}にご登録いただき、ありがとうございます。お買い物のたびにポイントが貯まり、特典と交換できます。\n\nまたのご利用をお待ちしております。',
    },
    'zh-Hant': {
      subject: '歡迎加入{{programName}}，{{name}}！',
      body: '{{name}} 您好：\n\n感謝您加入{{programName}}。每次消費都能累積點數，並可兌換獎勵。\n\n期待很快再見到您！',
    },
    th: {
      subject: 'ยินดีต้อนรับสู่ {{programName}} คุณ{{name}}',
      body: 'สวัสดีคุณ{{name}}\n\nขอบคุณที่สมัครเป็นสมาชิก {{programName}} ทุกการซื้อจะได้รับคะแนนสะสม และสามารถนำคะแนนไปแลกของรางวัลได้\n\nแล้วพบกันเร็ว ๆ นี้',
    },
  },
  points_earned: {
    en: {
      subject: 'You earned {{points}} points',
      body: `Hi {{name}},\n\nYou just earned {{points}} points at {{programName}}. Your balance is now {{balance}} points.\n\n${NEXT_TIER_EN}`,
    },
    ko: {
      subject: '{{points}} 포인트가 적립되었습니다',
      body: '{{name}}님, 안녕하세요.\n\n{{programName}}에서 {{points}} 포인트가 적립되었습니다. 현재 잔액은 {{balance}} 포인트입니다.\n\n{{#nextTierName}}{{nextTierName}} 등급까지 {{nextTierGap}} 남았습니다.{{/nextTierName}}',
    },
    ja: {
      subject: '{{points}}ポイントを獲得しました',
      body: '{{name}}様\n\n{{programName}}で{{points}}ポイントを獲得しました。現在のポイント残高は{{balance}}ポイントです。\n\n{{#nextTierName}}{{nextTierName}}まであと{{nextTierGap}}です。{{/nextTierName}}',
    },
    'zh-Hant': {
      subject: '您獲得了 {{points}} 點',
      body: '{{name}} 您好：\n\n您剛在{{programName}}獲得 {{points}} 點，目前點數餘額為 {{balance}} 點。\n\n{{#nextTierName}}再 {{nextTierGap}} 即可升級至{{nextTierName}}。{{/nextTierName}}',
    },
    th: {
      subject: 'คุณได้รับ {{points}} คะแนน',
      body: 'สวัสดีคุณ{{name}}\n\nคุณเพิ่งได้รับ {{points}} คะแนนจาก {{programName}} ยอดคะแนนคงเหลือของคุณคือ {{balance}} คะแนน\n\n{{#nextTierName}}อีกเพียง {{nextTierGap}} คุณจะได้เป็นระดับ {{nextTierName}}{{/nextTierName}}',
    },
  },
  reward_affordable: {
    en: {
      subject: 'You can now redeem {{rewardName}}',
      body: 'Hi {{name}},\n\nGood news: with {{balance}} points you can now redeem {{rewardName}} ({{rewardCost}} points).\n\nRedeem it in your {{programName}} account.',
    },
    ko: {
      subject: '이제 {{rewardName}}을(를) 받으실 수 있습니다',
      body: '{{name}}님, 좋은 소식입니다!\n\n보유하신 {{balance}} 포인트로 이제 {{rewardName}}({{rewardCost}} 포인트)을(를) 교환하실 수 있습니다.\n\n{{programName}} 계정에서 교환해 보세요.',
    },
    ja: {
      subject: '{{rewardName}}と交換できるようになりました',
      body: '{{name}}様\n\nうれしいお知らせです。{{balance}}ポイントで{{rewardName}}（{{rewardCost}}ポイント）と交換できるようになりました。\n\n{{programName}}のマイページからお手続きください。',
    },
    'zh-Hant': {
      subject: '您現在可以兌換{{rewardName}}了',
      body: '{{name}} 您好：\n\n好消息！您的 {{balance}} 點現在足以兌換{{rewardName}}（{{rewardCost}} 點）。\n\n請至{{programName}}會員專區兌換。',
    },
    th: {
      subject: 'ตอนนี้คุณแลก {{rewardName}} ได้แล้ว',
      body: 'สวัสดีคุณ{{name}}\n\nข่าวดี! ด้วยคะแนน {{balance}} คะแนน ตอนนี้คุณสามารถแลก {{rewardName}} ({{rewardCost}} คะแนน) ได้แล้ว\n\nแลกรับได้ที่บัญชีของคุณใน {{programName}}',
    },
  },
  points_to_next: {
    en: {
      subject: '{{#nextTierName}}Just {{nextTierGap}} to {{nextTierName}}{{/nextTierName}}{{^nextTierName}}Just {{pointsToNextReward}} points to {{rewardName}}{{/nextTierName}}',
      body: 'Hi {{name}},\n\n{{#nextTierName}}You are only {{nextTierGap}} away from {{nextTierName}}.{{/nextTierName}}{{#rewardName}}You are only {{pointsToNextReward}} points away from {{rewardName}}.{{/rewardName}}\n\nYour balance: {{balance}} points.',
    },
    ko: {
      subject: '{{#nextTierName}}{{nextTierName}} 등급까지 {{nextTierGap}} 남았습니다{{/nextTierName}}{{^nextTierName}}{{rewardName}}까지 {{pointsToNextReward}} 포인트 남았습니다{{/nextTierName}}',
      body: '{{name}}님, 안녕하세요.\n\n{{#nextTierName}}{{nextTierName}} 등급까지 {{nextTierGap}}만 더 모으시면 됩니다.{{/nextTierName}}{{#rewardName}}{{rewardName}}까지 {{pointsToNextReward}} 포인트 남았습니다.{{/rewardName}}\n\n현재 잔액: {{balance}} 포인트',
    },
    ja: {
      subject: '{{#nextTierName}}{{nextTierName}}まであと{{nextTierGap}}{{/nextTierName}}{{^nextTierName}}{{rewardName}}まであと{{pointsToNextReward}}ポイント{{/nextTierName}}',
      body: '{{name}}様\n\n{{#nextTierName}}{{nextTierName}}まであと{{nextTierGap}}です。{{/nextTierName}}{{#rewardName}}{{rewardName}}まであと{{pointsToNextReward}}ポイントです。{{/rewardName}}\n\n現在の残高：{{balance}}ポイント',
    },
    'zh-Hant': {
      subject: '{{#nextTierName}}再 {{nextTierGap}} 即可升級至{{nextTierName}}{{/nextTierName}}{{^nextTierName}}再 {{pointsToNextReward}} 點即可兌換{{rewardName}}{{/nextTierName}}',
      body: '{{name}} 您好：\n\n{{#nextTierName}}再 {{nextTierGap}} 即可升級至{{nextTierName}}。{{/nextTierName}}{{#rewardName}}再 {{pointsToNextReward}} 點即可兌換{{rewardName}}。{{/rewardName}}\n\n目前點數餘額：{{balance}} 點',
    },
    th: {
      subject: '{{#nextTierName}}อีก {{nextTierGap}} ถึงระดับ {{nextTierName}}{{/nextTierName}}{{^nextTierName}}อีก {{pointsToNextReward}} คะแนน แลก {{rewardName}} ได้{{/nextTierName}}',
      body: 'สวัสดีคุณ{{name}}\n\n{{#nextTierName}}อีกเพียง {{nextTierGap}} คุณจะได้เป็นระดับ {{nextTierName}}{{/nextTierName}}{{#rewardName}}อีกเพียง {{pointsToNextReward}} คะแนน คุณจะแลก {{rewardName}} ได้{{/rewardName}}\n\nคะแนนคงเหลือ: {{balance}} คะแนน',
    },
  },
  points_expiring: {
    en: {
      subject: '{{points}} points expire soon: use them by {{expiryDate}}',
      body: 'Hi {{name}},\n\n{{points}} of your points can be used until {{expiryDate}}; after that they expire. Your balance is {{balance}} points.\n\nDon’t let them go to waste!',
    },
    ko: {
      subject: '{{expiryDate}}까지 사용하지 않으시면 {{points}} 포인트가 소멸됩니다',
      body: '{{name}}님, 안녕하세요.\n\n보유하신 포인트 중 {{points}} 포인트는 {{expiryDate}}까지 사용하실 수 있으며, 이후에는 소멸됩니다. 현재 잔액은 {{balance}} 포인트입니다.\n\n소멸 전에 꼭 사용해 주세요!',
    },
    ja: {
      subject: '{{points}}ポイントの有効期限が近づいています（{{expiryDate}}まで）',
      body: '{{name}}様\n\nお持ちのポイントのうち{{points}}ポイントは{{expiryDate}}まで有効です。期限を過ぎると失効します。現在の残高は{{balance}}ポイントです。\n\n期限内にぜひご利用ください。',
    },
    'zh-Hant': {
      subject: '您有 {{points}} 點將於{{expiryDate}}後到期',
      body: '{{name}} 您好：\n\n您有 {{points}} 點的使用期限至{{expiryDate}}，逾期將失效。目前點數餘額為 {{balance}} 點。\n\n請記得在到期前使用！',
    },
    th: {
      subject: '{{points}} คะแนนของคุณใช้ได้ถึงวันที่ {{expiryDate}}',
      body: 'สวัสดีคุณ{{name}}\n\nคะแนนของคุณจำนวน {{points}} คะแนนจะใช้ได้ถึงวันที่ {{expiryDate}} หลังจากนั้นจะหมดอายุ ยอดคะแนนคงเหลือของคุณคือ {{balance}} คะแนน\n\nอย่าลืมใช้ก่อนหมดอายุนะ',
    },
  },
  tier_up: {
    en: {
      subject: 'Welcome to {{tierName}}!',
      body: 'Hi {{name}},\n\nCongratulations: you have reached {{tierName}} at {{programName}}.\n\n{{#nextTierName}}Next up: {{nextTierName}}, only {{nextTierGap}} away.{{/nextTierName}}',
    },
    ko: {
      subject: '{{tierName}} 등급이 되신 것을 축하합니다!',
      body: '{{name}}님, 축하합니다!\n\n{{programName}}에서 {{tierName}} 등급에 도달하셨습니다.\n\n{{#nextTierName}}다음 등급인 {{nextTierName}}까지 {{nextTierGap}} 남았습니다.{{/nextTierName}}',
    },
    ja: {
      subject: '{{tierName}}ランクへのアップおめでとうございます',
      body: '{{name}}様\n\nおめでとうございます。{{programName}}で{{tierName}}ランクになりました。\n\n{{#nextTierName}}次の{{nextTierName}}まであと{{nextTierGap}}です。{{/nextTierName}}',
    },
    'zh-Hant': {
      subject: '恭喜您升級為{{tierName}}！',
      body: '{{name}} 您好：\n\n恭喜您在{{programName}}升級為{{tierName}}。\n\n{{#nextTierName}}距離下一個等級{{nextTierName}}還差 {{nextTierGap}}。{{/nextTierName}}',
    },
    th: {
      subject: 'ยินดีด้วย คุณได้เป็นระดับ {{tierName}} แล้ว',
      body: 'สวัสดีคุณ{{name}}\n\nขอแสดงความยินดี คุณได้เลื่อนเป็นระดับ {{tierName}} ของ {{programName}} แล้ว\n\n{{#nextTierName}}อีก {{nextTierGap}} คุณจะได้เป็นระดับ {{nextTierName}}{{/nextTierName}}',
    },
  },
  birthday: {
    en: {
      subject: 'Happy birthday, {{name}}!',
      body: 'Hi {{name}},\n\nEveryone at {{programName}} wishes you a happy birthday!{{#points}} We added {{points}} points to your account as a gift.{{/points}}\n\nYour balance: {{balance}} points.',
    },
    ko: {
      subject: '{{name}}님, 생일을 축하합니다!',
      body: '{{name}}님, 생일을 진심으로 축하드립니다!\n\n{{#points}}생일 선물로 {{points}} 포인트를 적립해 드렸습니다. {{/points}}현재 잔액은 {{balance}} 포인트입니다.\n\n{{programName}} 드림',
    },
    ja: {
      subject: 'お誕生日おめでとうございます、{{name}}様',
      body: '{{name}}様\n\nお誕生日おめでとうございます。{{#points}}ささやかなプレゼントとして{{points}}ポイントを差し上げました。{{/points}}現在の残高は{{balance}}ポイントです。\n\n{{programName}}',
    },
    'zh-Hant': {
      subject: '{{name}}，祝您生日快樂！',
      body: '{{name}} 您好：\n\n{{programName}}全體同仁祝您生日快樂！{{#points}}我們已贈送您 {{points}} 點作為生日禮物。{{/points}}目前點數餘額為 {{balance}} 點。',
    },
    th: {
      subject: 'สุขสันต์วันเกิด คุณ{{name}}',
      body: 'สวัสดีคุณ{{name}}\n\n{{programName}} ขออวยพรให้คุณมีความสุขในวันเกิด{{#points}} เรามอบ {{points}} คะแนนเป็นของขวัญให้คุณแล้ว{{/points}} ยอดคะแนนคงเหลือของคุณคือ {{balance}} คะแนน',
    },
  },
  at_risk: {
    en: {
      subject: 'We miss you, {{name}}',
      body: 'Hi {{name}},\n\nIt has been {{daysSinceLastPurchase}} days since your last visit to {{programName}}. Your {{balance}} points are waiting for you.\n\nWe hope to see you again soon!',
    },
    ko: {
      subject: '{{name}}님, 보고 싶었어요',
      body: '{{name}}님, 안녕하세요.\n\n마지막 방문 후 {{daysSinceLastPurchase}}일이 지났습니다. {{balance}} 포인트가 {{name}}님을 기다리고 있어요.\n\n{{programName}}에서 곧 다시 뵙기를 바랍니다.',
    },
    ja: {
      subject: '{{name}}様、お久しぶりです',
      body: '{{name}}様\n\n前回のご利用から{{daysSinceLastPurchase}}日が経ちました。{{balance}}ポイントがご利用をお待ちしています。\n\n{{programName}}でまたお会いできるのを楽しみにしております。',
    },
    'zh-Hant': {
      subject: '{{name}}，我們想念您',
      body: '{{name}} 您好：\n\n距離您上次光臨已經 {{daysSinceLastPurchase}} 天了。您的 {{balance}} 點仍在等著您。\n\n期待在{{programName}}再次見到您。',
    },
    th: {
      subject: 'เราคิดถึงคุณ คุณ{{name}}',
      body: 'สวัสดีคุณ{{name}}\n\nผ่านมา {{daysSinceLastPurchase}} วันแล้วตั้งแต่คุณมาครั้งล่าสุด คะแนน {{balance}} คะแนนของคุณยังรอคุณอยู่\n\nหวังว่าจะได้พบคุณอีกครั้งที่ {{programName}}',
    },
  },
  post_purchase: {
    en: {
      subject: 'Thank you for your order',
      body: 'Hi {{name}},\n\nThank you for your order{{#orderId}} {{orderId}}{{/orderId}} at {{programName}}.{{#points}} It earns you {{points}} points.{{/points}}\n\nYour balance: {{balance}} points.',
    },
    ko: {
      subject: '주문해 주셔서 감사합니다',
      body: '{{name}}님, 안녕하세요.\n\n{{programName}}에서 주문{{#orderId}}({{orderId}}){{/orderId}}해 주셔서 감사합니다.{{#points}} 이번 주문으로 {{points}} 포인트가 적립됩니다.{{/points}}\n\n현재 잔액: {{balance}} 포인트',
    },
    ja: {
      subject: 'ご注文ありがとうございます',
      body: '{{name}}様\n\n{{programName}}でのご注文{{#orderId}}（{{orderId}}）{{/orderId}}ありがとうございます。{{#points}}今回のご注文で{{points}}ポイントが貯まります。{{/points}}\n\n現在の残高：{{balance}}ポイント',
    },
    'zh-Hant': {
      subject: '感謝您的訂購',
      body: '{{name}} 您好：\n\n感謝您在{{programName}}訂購{{#orderId}}（訂單 {{orderId}}）{{/orderId}}。{{#points}}此筆訂單可為您累積 {{points}} 點。{{/points}}\n\n目前點數餘額：{{balance}} 點',
    },
    th: {
      subject: 'ขอบคุณสำหรับคำสั่งซื้อ',
      body: 'สวัสดีคุณ{{name}}\n\nขอบคุณสำหรับคำสั่งซื้อ{{#orderId}} {{orderId}}{{/orderId}} จาก {{programName}}{{#points}} คำสั่งซื้อนี้ได้รับ {{points}} คะแนน{{/points}}\n\nคะแนนคงเหลือ: {{balance}} คะแนน',
    },
  },
};
