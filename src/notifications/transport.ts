import type { Transporter } from 'nodemailer';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { MailMessage } from './messages.ts';

/** A message on its way: who it goes to and what it says. */
export interface OutgoingMail extends MailMessage {
  to: string;
  /** What it is (a notification kind or `email_confirm`): logged instead of the body. */
  kind: string;
}

/** Hands a message over for delivery, or throws a MailError. */
export interface Mailer {
  readonly kind: 'smtp' | 'development';
  send(mail: OutgoingMail): Promise<void>;
}

/**
 * Why a delivery failed, in words safe to store and log: the SMTP status and error code, never
 * the message (which may hold a confirmation code) or the server's free text.
 */
export class MailError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'MailError';
  }
}

/** A message kept for the development mailbox page. */
export interface DevelopmentMail extends OutgoingMail {
  from: string;
  at: Date;
}

const DEVELOPMENT_MAILBOX_SIZE = 200;

/** The development mailbox: the newest messages of this process, in memory, for /admin/mail. */
export class DevelopmentMailbox {
  private readonly messages: DevelopmentMail[] = [];

  add(mail: DevelopmentMail): void {
    this.messages.unshift(mail);
    this.messages.length = Math.min(this.messages.length, DEVELOPMENT_MAILBOX_SIZE);
  }

  /** Newest first. */
  list(): readonly DevelopmentMail[] {
    return this.messages;
  }
}

/** One mailbox per process: the worker, the confirmation flow and the page share it. */
export const developmentMailbox = new DevelopmentMailbox();

export function smtpMailer(url: string, from: string): Mailer {
  // Bounded waits: a hung server must fail the attempt well within the worker's lease
  // (NOTIFICATION_LEASE_SECONDS), or a second worker could take the row over and send it again.
  // nodemailer (about 15 MB of memory) is loaded with the first message, not at start.
  let transport: Promise<Transporter> | null = null;
  const transportOnce = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({ url, connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 } as never),
    ).catch((error: unknown) => {
      transport = null; // tried again with the next message
      throw error;
    }));
  return {
    kind: 'smtp',
    async send(mail) {
      try {
        await (await transportOnce()).sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
      } catch (error) {
        throw new MailError(describeSmtpError(error));
      }
    },
  };
}

/**
 * Without LATCH_SMTP_URL: the message is logged (kind, recipient, subject — not the body, which
 * may hold a confirmation code) and kept in the development mailbox.
 */
export function developmentMailer(from: string, logger: Logger, mailbox: DevelopmentMailbox = developmentMailbox): Mailer {
  return {
    kind: 'development',
    async send(mail) {
      mailbox.add({ ...mail, from, at: new Date() });
      logger.info('mail (development mailbox, not sent)', { kind: mail.kind, to: mail.to, subject: mail.subject });
    },
  };
}

const mailers = new WeakMap<Config, Mailer>();

/** The mailer the configuration asks for, one per configuration (the SMTP pool is reused). */
export function mailerFor(config: Config, logger: Logger): Mailer {
  let mailer = mailers.get(config);
  if (!mailer) {
    mailer = config.smtpUrl ? smtpMailer(config.smtpUrl, config.mailFrom) : developmentMailer(config.mailFrom, logger);
    mailers.set(config, mailer);
  }
  return mailer;
}

function describeSmtpError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'mail_failed';
  const { code, responseCode, command } = error as { code?: unknown; responseCode?: unknown; command?: unknown };
  const parts = [typeof code === 'string' ? code : 'mail_failed'];
  if (typeof responseCode === 'number') parts.push(String(responseCode));
  if (typeof command === 'string') parts.push(`at ${command.split(' ')[0]!.slice(0, 16)}`);
  return parts.join(' ').replace(/[^\w .:-]/g, '').slice(0, 200);
}
