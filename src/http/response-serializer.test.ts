import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { Type } from '@sinclair/typebox';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Nullable, ReferenceSchema, Timestamp, Uuid } from './schemas.ts';
import { serializableSchema } from './response-serializer.ts';

const Sample = Type.Object({
  id: Uuid,
  at: Nullable(Timestamp),
  count: Nullable(Type.Integer()),
  note: Nullable(Type.String({ description: 'free text' })),
  reference: Nullable(ReferenceSchema),
  flags: Type.Array(Nullable(Type.Boolean())),
  nested: Type.Object({ until: Nullable(Timestamp), list: Nullable(Type.Array(Type.Integer())) }),
  either: Type.Union([Type.String(), Type.Integer()]),
  status: Nullable(Type.Union([Type.Literal('a'), Type.Literal('b')])),
});

const compile = (schema: unknown) => SerializerSelector()({}, {})({ schema, method: 'GET', url: '/x', httpStatus: '200' });

describe('serializableSchema', () => {
  it('writes each nullable of one JSON type as a type list and leaves every other schema alone', () => {
    const out = serializableSchema(Sample) as Record<string, any>;
    const p = out.properties;
    expect(p.at).toEqual({ type: ['string', 'null'], format: 'date-time' });
    expect(p.count).toEqual({ type: ['integer', 'null'] });
    expect(p.note).toEqual({ type: ['string', 'null'], description: 'free text' });
    expect(p.reference.type).toEqual(['object', 'null']);
    expect(p.reference.properties.type.maxLength).toBe(64);
    expect(p.flags.items).toEqual({ type: ['boolean', 'null'] });
    expect(p.nested.properties.until.type).toEqual(['string', 'null']);
    expect(p.nested.properties.list).toEqual({ type: ['array', 'null'], items: { type: 'integer' } });
    // Not "one type or null": kept as they are.
    expect(p.either.anyOf).toHaveLength(2);
    expect(p.status.anyOf).toHaveLength(2);
    // The route's own schema is not changed (OpenAPI and validation read it).
    expect((Sample.properties.at as Record<string, unknown>).anyOf).toHaveLength(2);
  });

  it('serializes every value the schema allows exactly as the schema it replaces does', () => {
    const original = compile(Sample);
    const rewritten = compile(serializableSchema(Sample));
    // Up to year 9999: later years are written "+010000-…", which is not an RFC 3339 date-time.
    const date = fc.date({ noInvalidDate: true, min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') });
    const timestamp = fc.oneof(fc.constant(null), date, date.map((d) => d.toISOString()));
    const sample = fc.record({
      id: fc.uuid(),
      at: timestamp,
      count: fc.option(fc.integer(), { nil: null }),
      note: fc.option(fc.string(), { nil: null }),
      reference: fc.option(fc.record({ type: fc.string({ minLength: 1 }), id: fc.string({ minLength: 1 }) }), { nil: null }),
      flags: fc.array(fc.option(fc.boolean(), { nil: null })),
      nested: fc.record({ until: timestamp, list: fc.option(fc.array(fc.integer()), { nil: null }) }),
      either: fc.oneof(fc.string(), fc.integer()),
      status: fc.constantFrom('a', 'b', null),
    });
    fc.assert(fc.property(sample, (value) => {
      expect(rewritten(value)).toBe(original(value));
    }), { numRuns: 500 });
  });

  it('still refuses a value of another type', () => {
    const rewritten = compile(serializableSchema(Type.Object({ count: Nullable(Type.Integer()) })));
    expect(() => rewritten({ count: { not: 'a number' } })).toThrow(/does not match schema definition/);
  });
});
