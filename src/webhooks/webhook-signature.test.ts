import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret, isValidSecret, sign, signatureHeaders, verify } from './webhook-signature.ts';

describe('Standard Webhooks signatures', () => {
  it('matches the example of the specification', () => {
    // The reference vector published with the Standard Webhooks libraries.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs `${id}.${timestamp}.${body}` with the base64-decoded key', () => {
    const secret = generateSecret();
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update('evt_1.1700000000.{"a":1}').digest('base64');
    expect(sign(secret, 'evt_1', 1_700_000_000, '{"a":1}')).toBe(`v1,${expected}`);
  });

  it('generates distinct valid secrets of 32 bytes', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).not.toBe(b);
    expect(isValidSecret(a)).toBe(true);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(isValidSecret('whsec_short')).toBe(false);
    expect(isValidSecret('secret_' + 'A'.repeat(44))).toBe(false);
  });

  it('verifies any of several signatures, and rejects a tampered body, id or stale timestamp', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const now = 1_700_000_000;
    const h = signatureHeaders([newSecret, oldSecret], 'evt_42', now, '{"x":1}');
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    const headers = { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
    expect(verify(oldSecret, headers, '{"x":1}', { nowSeconds: now })).toBe(true);
    expect(verify(newSecret, headers, '{"x":1}', { nowSeconds: now })).toBe(true);
    expect(verify(generateSecret(), headers, '{"x":1}', { nowSeconds: now })).toBe(false);
    expect(verify(newSecret, headers, '{"x":2}', { nowSeconds: now })).toBe(false);
    expect(verify(newSecret, { ...headers, id: 'evt_43' }, '{"x":1}', { nowSeconds: now })).toBe(false);
    expect(verify(newSecret, headers, '{"x":1}', { nowSeconds: now + 301 })).toBe(false);
  });
});
