/**
 * A small, logic-less template language (a subset of Mustache):
 *   {{name}}            the variable's value (HTML-escaped in the HTML rendering)
 *   {{#name}}…{{/name}} the block when the variable is not empty
 *   {{^name}}…{{/name}} the block when it is empty
 * Templates are checked when saved: an unknown variable or an unbalanced block is refused.
 */
type Node =
  | { t: 'text'; value: string }
  | { t: 'var'; name: string }
  | { t: 'section'; name: string; inverted: boolean; children: Node[] };

const TAG = /\{\{\s*([#^/]?)\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export class TemplateError extends Error {}

export function parseTemplate(source: string): Node[] {
  const root: Node[] = [];
  const stack: { name: string; children: Node[] }[] = [{ name: '', children: root }];
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const top = stack[stack.length - 1]!;
    if (match.index > last) top.children.push({ t: 'text', value: source.slice(last, match.index) });
    last = match.index + match[0].length;
    const [, sigil, name] = match as unknown as [string, string, string];
    if (sigil === '#' || sigil === '^') {
      const section: Node = { t: 'section', name, inverted: sigil === '^', children: [] };
      top.children.push(section);
      stack.push({ name, children: section.children });
    } else if (sigil === '/') {
      if (stack.length === 1 || top.name !== name) throw new TemplateError(`{{/${name}}} closes no open {{#${name}}} block`);
      stack.pop();
    } else {
      top.children.push({ t: 'var', name });
    }
  }
  if (stack.length > 1) throw new TemplateError(`{{#${stack[stack.length - 1]!.name}}} is never closed`);
  const rest = source.slice(last);
  if (rest) root.push({ t: 'text', value: rest });
  const stray = /\{\{|\}\}/.exec(source.replace(TAG, ''));
  if (stray) throw new TemplateError('a "{{" or "}}" is not part of a valid {{variable}} tag');
  return root;
}

function variablesOf(nodes: Node[], out: Set<string>) {
  for (const node of nodes) {
    if (node.t === 'var') out.add(node.name);
    if (node.t === 'section') {
      out.add(node.name);
      variablesOf(node.children, out);
    }
  }
  return out;
}

/** The problems of a template (empty when it is valid). */
export function templateProblems(source: string, allowed: readonly string[]): string[] {
  try {
    const unknown = [...variablesOf(parseTemplate(source), new Set())].filter((v) => !allowed.includes(v));
    return unknown.map((v) => `unknown variable {{${v}}}`);
  } catch (error) {
    if (error instanceof TemplateError) return [error.message];
    throw error;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function renderNodes(nodes: Node[], vars: Record<string, string>, escape: (s: string) => string): string {
  let out = '';
  for (const node of nodes) {
    if (node.t === 'text') out += escape(node.value);
    else if (node.t === 'var') out += escape(vars[node.name] ?? '');
    else if ((vars[node.name] ?? '') !== '' !== node.inverted) out += renderNodes(node.children, vars, escape);
  }
  return out;
}

export function renderText(source: string, vars: Record<string, string>): string {
  return renderNodes(parseTemplate(source), vars, (s) => s).replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}

/** One line: newlines in a subject become spaces. */
export function renderSubject(source: string, vars: Record<string, string>): string {
  return renderText(source, vars).replace(/\s*\n\s*/g, ' ');
}

/**
 * The HTML alternative of a text template: every value and text escaped, paragraphs from blank
 * lines, line breaks kept, and the unsubscribe link as a real link.
 */
export function renderHtml(source: string, vars: Record<string, string>, footer?: { text: string; url: string }): string {
  const text = renderText(source, vars);
  const paragraphs = text.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`);
  const link = footer ? `<p style="font-size:12px;color:#666"><a href="${escapeHtml(footer.url)}">${escapeHtml(footer.text)}</a></p>` : '';
  return `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">${paragraphs.join('')}${link}</body></html>`;
}
