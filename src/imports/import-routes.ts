import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { principalOf } from '../http/principal.ts';
import { Nullable, problems, Timestamp, Uuid } from '../http/schemas.ts';
import { importAdjustments } from './adjustment-import.ts';
import { findBatch, listBatches } from './import-repository.ts';
import { hashText, type ImportFormat } from './import-source.ts';
import { exportMembers } from './member-export.ts';
import { importMembers, MAX_REPORTED_ERRORS, type ImportInput } from './member-import.ts';
import { decodeKeyCursor, encodeKeyCursor, keyOf } from '../http/cursor.ts';

/** Uploads above this go through the command line (`npm run laurel -- import:members`), which streams the file. */
export const IMPORT_BODY_LIMIT_BYTES = 32 * 1_048_576;

const CSV_TYPES = ['text/csv'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'];

const Format = Type.Union([Type.Literal('csv'), Type.Literal('ndjson')]);
const ImportQuery = Type.Object({
  format: Type.Optional(Format),
  batchKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'Applies each row once per key (default: the Idempotency-Key header, else the sha256 of the body)' })),
  onInvalid: Type.Optional(Type.Union([Type.Literal('reject'), Type.Literal('skip')], { description: 'reject (default): any invalid row rejects the whole file; skip: import the valid rows' })),
  dryRun: Type.Optional(Type.Boolean({ description: 'Check and count everything, then roll back' })),
}, { additionalProperties: false });

const RowErrorSchema = Type.Object({
  line: Type.Integer(), customerId: Type.Optional(Type.String()), field: Type.Optional(Type.String()), code: Type.String(), message: Type.String(),
});
const reportFields = {
  batchId: Nullable(Uuid), batchKey: Type.String(), status: Type.Union([Type.Literal('completed'), Type.Literal('rejected'), Type.Literal('dry_run')]),
  replayed: Type.Boolean({ description: 'true: this file was already imported under this batch key; the stored report is returned and nothing changed' }),
  format: Format, onInvalid: Type.String(),
  rows: Type.Object({ total: Type.Integer(), valid: Type.Integer(), invalid: Type.Integer() }),
  errors: Type.Array(RowErrorSchema, { description: `The first ${MAX_REPORTED_ERRORS} problems, by line` }), errorCount: Type.Integer(),
  startedAt: Timestamp, finishedAt: Timestamp,
};
const MemberReportSchema = Type.Object({
  ...reportFields,
  members: Type.Object({ created: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer() }),
  balances: Type.Object({ applied: Type.Integer(), alreadyImported: Type.Integer(), points: Type.Integer() }),
});
const AdjustmentReportSchema = Type.Object({
  ...reportFields,
  adjustments: Type.Object({ applied: Type.Integer(), alreadyApplied: Type.Integer(), pointsAdded: Type.Integer(), pointsRemoved: Type.Integer() }),
});
const BatchSchema = Type.Object({
  id: Uuid, kind: Type.String(), batchKey: Type.String(), status: Type.String(), format: Type.String(), onInvalid: Type.String(),
  rowsTotal: Type.Integer(), rowsInvalid: Type.Integer(), actor: Type.String(), createdAt: Timestamp,
});

type BatchRow = NonNullable<Awaited<ReturnType<typeof findBatch>>>;
const batchView = (b: BatchRow) => ({
  id: b.id, kind: b.kind, batchKey: b.batch_key, status: b.status, format: b.format, onInvalid: b.on_invalid,
  rowsTotal: b.rows_total, rowsInvalid: b.rows_invalid, actor: b.actor, createdAt: b.created_at.toISOString(),
});

function formatOf(request: FastifyRequest, query?: ImportFormat): ImportFormat {
  if (query) return query;
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return CSV_TYPES.includes(type) ? 'csv' : 'ndjson';
}

function batchKeyOf(request: FastifyRequest, query?: string): string | undefined {
  if (query) return query;
  const header = request.headers['idempotency-key'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}

export const importRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, clock } = app.deps;

  // Files arrive as text; the parser is scoped to this plugin, every other route stays JSON-only.
  app.addContentTypeParser([...CSV_TYPES, ...NDJSON_TYPES], { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

  const uploadLimit = { bodyLimit: IMPORT_BODY_LIMIT_BYTES };

  /** Both uploads: the file in the body, 201 when applied, 200 for a dry run or a replay, 422 when rejected. */
  async function upload<R extends { status: string; replayed: boolean; errorCount: number; errors: { line: number }[] }>(
    request: FastifyRequest, reply: FastifyReply, body: string, query: Static<typeof ImportQuery>,
    run: (db: Db, input: ImportInput) => Promise<R>, done: 'imported' | 'applied',
  ) {
    const p = principalOf(request);
    const report = await run(db, {
      programId: p.programId, actor: p.actor, format: formatOf(request, query.format), source: [body], contentHash: hashText(body),
      batchKey: batchKeyOf(request, query.batchKey), onInvalid: query.onInvalid, dryRun: query.dryRun, clock,
    });
    if (report.status === 'rejected') {
      throw new ProblemError('import_rejected', `${report.errorCount} problem(s) in the file (first on line ${report.errors[0]?.line}); nothing was ${done}`, { report });
    }
    return reply.code(report.status === 'completed' && !report.replayed ? 201 : 200).send(report);
  }
  const uploadBody = Type.String({ maxLength: IMPORT_BODY_LIMIT_BYTES, description: 'The file: CSV with a header line (text/csv), or NDJSON, one JSON object per line (application/x-ndjson)' });

  app.post('/imports/members', {
    ...uploadLimit,
    schema: {
      tags: ['imports'], summary: 'Import members with opening balances from a CSV or NDJSON file (up to 32 MiB; larger files: the import:members command)',
      description: 'All rows in one transaction, set-based. Each opening balance is a ledger earn (reference type "import", reference id the batch key), applied once per batch key, customer id and wallet. '
        + 'Existing customer ids are updated with the fields given. 201: imported; 200: dry run, or the same file again (replayed); 422 import_rejected: invalid rows, nothing imported. See docs/operations.md.',
      consumes: [...CSV_TYPES, ...NDJSON_TYPES], querystring: ImportQuery, body: uploadBody,
      response: { 200: MemberReportSchema, 201: MemberReportSchema, ...problems(404, 413, 415, 422) },
    },
  }, async (request, reply) => upload(request, reply, request.body, request.query, importMembers, 'imported'));

  app.post('/imports/adjustments', {
    ...uploadLimit,
    schema: {
      tags: ['imports'], summary: 'Adjust many balances from a CSV or NDJSON file of customer id, amount (signed) and reason',
      description: 'Each row is a ledger adjustment, audited like a manual one, applied once per batch key, customer id and wallet. 201: applied; 200: dry run or replay; 422 import_rejected: nothing applied.',
      consumes: [...CSV_TYPES, ...NDJSON_TYPES], querystring: ImportQuery, body: uploadBody,
      response: { 200: AdjustmentReportSchema, 201: AdjustmentReportSchema, ...problems(404, 413, 415, 422) },
    },
  }, async (request, reply) => upload(request, reply, request.body, request.query, importAdjustments, 'applied'));

  app.get('/imports', {
    schema: {
      tags: ['imports'], summary: 'Import history, newest first (completed, rejected and dry runs)',
      querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 512 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(BatchSchema), nextCursor: Nullable(Type.String()) }), ...problems() },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50;
    const rows = await listBatches(db, principalOf(request).programId, limit + 1, request.query.cursor ? keyOf(decodeKeyCursor(request.query.cursor)) : undefined);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(batchView),
      nextCursor: rows.length > limit && last ? encodeKeyCursor(last.created_at, last.id) : null,
    };
  });

  app.get('/imports/:id', {
    schema: {
      tags: ['imports'], summary: 'One import with its report', params: Type.Object({ id: Uuid }),
      response: { 200: Type.Intersect([BatchSchema, Type.Object({ report: Type.Record(Type.String(), Type.Unknown()) })]), ...problems(404) },
    },
  }, async (request) => {
    const batch = await findBatch(db, principalOf(request).programId, request.params.id);
    if (!batch) throw new ProblemError('import_not_found');
    return { ...batchView(batch), report: batch.report };
  });

  app.get('/exports/members', {
    schema: {
      tags: ['imports'], summary: 'Export every member with balances per wallet, streamed (CSV or NDJSON); the file imports as it is',
      querystring: Type.Object({ format: Type.Optional(Format) }, { additionalProperties: false }),
      produces: ['text/csv', 'application/x-ndjson'],
      response: {
        200: {
          description: 'The members, one per line (CSV with a header row, or NDJSON)',
          content: {
            'text/csv': { schema: Type.String() },
            'application/x-ndjson': { schema: Type.String() },
          },
        },
        ...problems(),
      },
    },
  }, async (request, reply) => {
    const p = principalOf(request);
    const format = request.query.format ?? 'csv';
    const chunks = exportMembers(db, { programId: p.programId, format });
    // The first chunk is read before answering, so a database failure is still a proper problem response.
    const first = await chunks.next();
    async function* rest() {
      if (!first.done) yield first.value;
      yield* chunks;
    }
    reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="members-${p.programId}.${format === 'csv' ? 'csv' : 'ndjson'}"`);
    // A client hanging up destroys the stream, which returns the generator: its snapshot is released.
    // The documented 200 body is text; the type provider cannot express a streamed string.
    return reply.send(Readable.from(rest()) as unknown as string);
  });
};
