import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `anyOf: [X, { type: 'null' }]` (either order) where X names one JSON type: X's schema with `type: [X's type, 'null']`. */
function nullableAsTypeList(schema: Schema): Schema | null {
  const options = schema.anyOf;
  if (!Array.isArray(options) || options.length !== 2 || Object.keys(schema).some((k) => k !== 'anyOf' && k !== 'description')) return null;
  const nullAt = options.findIndex((o) => isSchema(o) && o.type === 'null' && Object.keys(o).length === 1);
  if (nullAt < 0) return null;
  const other = options[1 - nullAt];
  if (!isSchema(other) || typeof other.type !== 'string' || other.type === 'null' || 'anyOf' in other || 'oneOf' in other || 'allOf' in other) return null;
  return { ...other, ...(schema.description === undefined ? {} : { description: schema.description }), type: [other.type, 'null'] };
}

/**
 * A copy of a response schema in which every nullable field (`Nullable(X)`, an `anyOf` of X and
 * null) is written as a type list (`type: [X's type, 'null']`), which means the same thing.
 * fast-json-stringify serializes an `anyOf` by validating the value against each option with Ajv,
 * on every response and for every such field (a date-time format check for each nullable
 * timestamp); a type list is serialized with a `typeof` test. So a nullable string's format is
 * no longer checked on the way out, as a non-nullable one's never was: responses are built from
 * the database's values, not from input. The schemas declared on the routes, and so the OpenAPI
 * document and request validation, are left as they are.
 */
export function serializableSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(serializableSchema);
  if (!isSchema(value)) return value;
  const simplified = nullableAsTypeList(value);
  const source = simplified ?? value;
  const out: Schema = {};
  for (const key of Object.keys(source)) out[key] = serializableSchema(source[key]);
  return out;
}

/** Fastify's own response serializer compiler (fast-json-stringify), given the schemas above. */
export function responseSerializerFactory(): SerializerFactory {
  const base = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = base(externalSchemas, options);
    return (route) => compile({ ...route, schema: serializableSchema(route.schema) });
  };
}
