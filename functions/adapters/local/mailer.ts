/**
 * Mailer for the local runtime: SMTP through nodemailer when `SPACEPORT_SMTP_URL` is set
 * (`smtp://user:pass@host:port`), else an RFC 822 `.eml` file per message in an outbox folder
 * (open it with any mail client). Both build the same MIME message (HTML + text parts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type { Mailer, OutgoingEmail } from "../../ports.js";

export class SmtpMailer implements Mailer {
  private readonly transport;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(smtpUrl);
  }

  async send(message: OutgoingEmail): Promise<{ messageId: string }> {
    const info = await this.transport.sendMail(mailOptions(this.from, message));
    return { messageId: info.messageId };
  }

  close(): void {
    this.transport.close();
  }
}

/** The same message for SMTP and the outbox: both parts, and the job id for tracing. */
function mailOptions(from: string, message: OutgoingEmail) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    headers: { "X-Spaceport-Job": message.jobId },
  };
}

export class OutboxMailer implements Mailer {
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });

  constructor(
    readonly outbox: string,
    private readonly from: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async send(message: OutgoingEmail): Promise<{ messageId: string }> {
    const info = await this.transport.sendMail(mailOptions(this.from, message));
    await mkdir(this.outbox, { recursive: true });
    const stamp = this.now().toISOString().replace(/[:.]/g, "-");
    const safeJob = message.jobId.replace(/[^a-zA-Z0-9-]/g, "_");
    const file = join(this.outbox, `${stamp}-${safeJob}-${Math.random().toString(16).slice(2, 8)}.eml`);
    await writeFile(file, info.message as Buffer);
    return { messageId: info.messageId };
  }
}

/** SMTP when `SPACEPORT_SMTP_URL` is set, else the outbox folder. */
export function localMailer(vars: NodeJS.ProcessEnv, options: { outbox: string; from: string }): Mailer {
  const url = vars["SPACEPORT_SMTP_URL"];
  return url ? new SmtpMailer(url, options.from) : new OutboxMailer(options.outbox, options.from);
}
