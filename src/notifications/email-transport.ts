import nodemailer, { type Transporter } from 'nodemailer';
import type { LifecycleSettings } from './lifecycle-settings.ts';

type Smtp = NonNullable<LifecycleSettings['messages']['email']['smtp']>;

const transports = new Map<string, Transporter>();

function smtpFromUrl(url: string): Smtp {
  const u = new URL(url);
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error('LAUREL_SMTP_URL must be smtp:// or smtps://');
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    user: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
  };
}

/**
 * The SMTP transport of a program: its own server if configured, else the operator's
 * LAUREL_SMTP_URL. Transports are pooled per configuration, so a changed password takes effect
 * at once and an unchanged one reuses its connections.
 */
export function emailTransport(settings: LifecycleSettings, fallbackUrl: string | undefined): Transporter | null {
  const smtp = settings.messages.email.smtp ?? (fallbackUrl ? smtpFromUrl(fallbackUrl) : null);
  if (!smtp) return null;
  const key = JSON.stringify(smtp);
  let transport = transports.get(key);
  if (!transport) {
    transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
      pool: true,
      maxConnections: 3,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    transports.set(key, transport);
  }
  return transport;
}

/** Closes every pooled SMTP connection (worker shutdown, tests). */
export function closeEmailTransports() {
  for (const transport of transports.values()) transport.close();
  transports.clear();
}

/** A permanent refusal (5xx: no such mailbox, rejected sender): retrying cannot help. */
export function isPermanentSmtpError(error: unknown): boolean {
  const code = (error as { responseCode?: number }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}
