import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document and docs', async () => {
  const t = await setupTestApp();
  const doc = (await t.call('GET', '/openapi.json', { key: null })).body;
  const operations = Object.entries(doc.paths as Record<string, Record<string, any>>)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, item]) => Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));

  it('is OpenAPI 3.1 with the bearer-key scheme and the shared Problem schema', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBeTruthy();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas.Problem.properties).toHaveProperty('code');
    expect(operations.length).toBeGreaterThan(30);
  });

  it('describes every /v1 operation: summary, tags, security, success and problem responses', () => {
    const defects: string[] = [];
    for (const { name, op } of operations) {
      if (!op.summary?.trim()) defects.push(`${name}: no summary`);
      if (!op.tags?.length) defects.push(`${name}: no tags`);
      if (!op.security?.some((s: Record<string, unknown>) => 'apiKey' in s)) defects.push(`${name}: no apiKey security requirement`);
      const responses = Object.entries(op.responses ?? {}) as [string, any][];
      const success = responses.filter(([status]) => /^2\d\d$/.test(status));
      if (!success.length) defects.push(`${name}: no 2xx response`);
      for (const [status, response] of success) {
        const media = Object.values(response.content ?? {}) as { schema?: unknown }[];
        if (status !== '204' && !media.some((m) => m.schema)) defects.push(`${name}: ${status} has no response schema`);
      }
      for (const status of ['400', '401']) {
        if (!op.responses?.[status]?.content?.['application/problem+json']?.schema) defects.push(`${name}: no ${status} problem response`);
      }
      for (const param of op.parameters ?? []) if (!param.schema) defects.push(`${name}: parameter ${param.name} has no schema`);
    }
    expect(defects).toEqual([]);
  });

  it('serves the interactive docs as HTML', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/swagger-ui/i);
  });
});
