import { Type, type TSchema } from '@sinclair/typebox';

export const Uuid = Type.String({ format: 'uuid', description: 'A Laurel id (UUID)' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Points and minor units: positive integers below 2^53, never fractions. */
export const Amount = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Positive integer (points or minor units), below 2^53' });
export const SignedAmount = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
export const WalletCode = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'Wallet code, e.g. "points" or "cashback"' });
export const Metadata = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 50, description: 'Free-form JSON object' });
export const Timestamp = Type.String({ format: 'date-time' });

export const ReferenceSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 64, description: 'What the points are for: order, reward, rule, admin…' }),
    id: Type.String({ minLength: 1, maxLength: 255 }),
  },
  { additionalProperties: false },
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code (see docs/errors.md)' }),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem details' },
);

const problemRef = Type.Ref('Problem');

/** A problem response, declared with the media type it is really sent as. */
export const problemResponse = {
  description: 'Problem details (see docs/errors.md)',
  content: { 'application/problem+json': { schema: problemRef } },
};

/** Response schemas for the problem statuses a route can return (400, 401 and 429 always). */
export function problems(...statuses: number[]) {
  const out: Record<number, typeof problemResponse> = {};
  for (const s of [400, 401, 429, ...statuses]) out[s] = problemResponse;
  return out;
}

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Required: a unique key per intended operation; a retry with the same key has exactly one effect' })),
});

export const CursorQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), nextCursor: Nullable(Type.String()) });
}
