import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { afterAll } from 'vitest';

export interface Mail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: ParsedMail['headers'];
  laurelId: string;
  /** A header as sent (mailparser restructures some, e.g. List-*). */
  raw(name: string): string | undefined;
}

/**
 * A real SMTP server on 127.0.0.1 (the smtp-server package): mails are parsed and kept. `reject`
 * decides per recipient: a 4xx code is a temporary refusal (retried), 5xx a permanent one.
 */
export async function startSmtp() {
  const mails: Mail[] = [];
  let reject: (address: string) => number | null = () => null;
  const server = new SMTPServer({
    authOptional: true,
    // Pooled client connections must not hold the test up when the server closes.
    closeTimeout: 500,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const code = reject(address.address);
      if (code) {
        const error = new Error(code >= 500 ? 'mailbox unavailable' : 'try again later') as Error & { responseCode: number };
        error.responseCode = code;
        return callback(error);
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then((parsed) => {
        const to = Array.isArray(parsed.to) ? parsed.to[0]!.text : parsed.to?.text ?? '';
        mails.push({
          to, from: parsed.from?.text ?? '', subject: parsed.subject ?? '', text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '',
          messageId: parsed.messageId ?? '', headers: parsed.headers, laurelId: String(parsed.headers.get('x-laurel-message-id') ?? ''),
          raw: (name) => parsed.headerLines.find((h) => h.key === name.toLowerCase())?.line.replace(/^[^:]+:\s*/, '').replace(/\r?\n\s+/g, ' '),
        });
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port,
    mails,
    smtp: { host: '127.0.0.1', port, secure: false, user: null, password: null },
    setReject(next: (address: string) => number | null) {
      reject = next;
    },
    to(address: string) {
      return mails.filter((m) => m.to.includes(address));
    },
  };
}
