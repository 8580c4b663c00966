import { describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATES, LOCALE_STRINGS } from './default-templates.ts';
import { MESSAGE_KINDS, SHIPPED_LOCALES, TEMPLATE_VARIABLES } from './message-kinds.ts';
import { renderHtml, renderSubject, renderText, templateProblems } from './template-render.ts';

const allowed = Object.keys(TEMPLATE_VARIABLES);

describe('templates', () => {
  it('replaces variables and keeps the rest verbatim', () => {
    expect(renderText('Hi {{name}}, you have {{ balance }} points.', { name: 'Ana', balance: '1,200' })).toBe('Hi Ana, you have 1,200 points.');
    expect(renderText('{{missing}}!', {})).toBe('!');
  });

  it('shows {{#x}} blocks only when x is not empty, and {{^x}} blocks only when it is', () => {
    const t = 'A{{#tierName}} tier {{tierName}}{{/tierName}}{{^tierName}} no tier{{/tierName}}.';
    expect(renderText(t, { tierName: 'Gold' })).toBe('A tier Gold.');
    expect(renderText(t, { tierName: '' })).toBe('A no tier.');
    expect(renderText(t, {})).toBe('A no tier.');
    expect(renderText('{{#a}}{{#b}}ab{{/b}}{{/a}}', { a: '1', b: '1' })).toBe('ab');
    expect(renderText('{{#a}}{{#b}}ab{{/b}}{{/a}}', { a: '1', b: '' })).toBe('');
  });

  it('collapses the blank lines left by empty blocks and puts subjects on one line', () => {
    expect(renderText('Hi\n\n{{#x}}x{{/x}}\n\nBye', {})).toBe('Hi\n\nBye');
    expect(renderSubject('{{a}}\n{{b}}', { a: 'one', b: 'two' })).toBe('one two');
  });

  it('escapes values in HTML, never in text', () => {
    const vars = { name: '<b>Ann & "Bo"</b>' };
    expect(renderText('Hi {{name}}', vars)).toBe('Hi <b>Ann & "Bo"</b>');
    const html = renderHtml('Hi {{name}}\n\nline1\nline2', vars, { text: 'Unsubscribe', url: 'https://x.test/u/a?b=1&c=2' });
    expect(html).toContain('<p>Hi &lt;b&gt;Ann &amp; &quot;Bo&quot;&lt;/b&gt;</p>');
    expect(html).toContain('<p>line1<br>line2</p>');
    expect(html).toContain('href="https://x.test/u/a?b=1&amp;c=2"');
    expect(html).not.toContain('<b>Ann');
  });

  it('refuses unknown variables and unbalanced blocks', () => {
    expect(templateProblems('Hi {{name}}', allowed)).toEqual([]);
    expect(templateProblems('Hi {{nmae}}', allowed)).toEqual(['unknown variable {{nmae}}']);
    expect(templateProblems('{{#tierName}}x', allowed)[0]).toMatch(/never closed/);
    expect(templateProblems('x{{/tierName}}', allowed)[0]).toMatch(/closes no open/);
    expect(templateProblems('{{#a}}{{/b}}', ['a', 'b'])[0]).toMatch(/closes no open/);
    expect(templateProblems('Hi {{name}', allowed)[0]).toMatch(/not part of a valid/);
  });

  it('ships a valid template for every kind in en, ko, ja, zh-Hant and th', () => {
    for (const kind of MESSAGE_KINDS) {
      for (const locale of SHIPPED_LOCALES) {
        const t = DEFAULT_TEMPLATES[kind][locale];
        expect(t, `${kind}/${locale}`).toBeDefined();
        expect(templateProblems(t!.subject, allowed), `${kind}/${locale} subject`).toEqual([]);
        expect(templateProblems(t!.body, allowed), `${kind}/${locale} body`).toEqual([]);
        expect(renderText(t!.body, { name: 'N', programName: 'P' }).length).toBeGreaterThan(10);
      }
      expect(Object.keys(DEFAULT_TEMPLATES[kind]).sort()).toEqual([...SHIPPED_LOCALES].sort());
    }
    expect(Object.keys(LOCALE_STRINGS).sort()).toEqual([...SHIPPED_LOCALES].sort());
  });
});
