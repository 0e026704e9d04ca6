/**
 * Mailer on SES v2 (`SendEmail`, simple content: HTML + text). Throttling
 * (TooManyRequestsException, and LimitExceeded's sending-rate cases) is retried with jittered
 * exponential backoff; other errors go straight to the caller.
 */
import { SendEmailCommand, type SESv2Client } from "@aws-sdk/client-sesv2";
import type { Mailer, OutgoingEmail } from "../../ports.js";

const THROTTLING = new Set(["TooManyRequestsException", "ThrottlingException", "Throttling"]);

export interface SesMailerOptions {
  readonly from: string;
  readonly configurationSetName?: string;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESv2Client,
    private readonly options: SesMailerOptions,
  ) {}

  async send(message: OutgoingEmail): Promise<{ messageId: string }> {
    const command = new SendEmailCommand({
      FromEmailAddress: this.options.from,
      Destination: { ToAddresses: [message.to] },
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: "UTF-8" },
          Body: { Html: { Data: message.html, Charset: "UTF-8" }, Text: { Data: message.text, Charset: "UTF-8" } },
        },
      },
      EmailTags: [{ Name: "jobId", Value: message.jobId }],
      ...(this.options.configurationSetName ? { ConfigurationSetName: this.options.configurationSetName } : {}),
    });
    const maxAttempts = this.options.maxAttempts ?? 5;
    const sleep = this.options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const random = this.options.random ?? Math.random;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.ses.send(command);
        return { messageId: out.MessageId ?? "" };
      } catch (error) {
        const throttled =
          THROTTLING.has((error as Error)?.name) ||
          ((error as Error)?.name === "LimitExceededException" && /rate/i.test((error as Error).message ?? ""));
        if (!throttled || attempt >= maxAttempts) throw error;
        const cap = (this.options.baseDelayMs ?? 200) * 2 ** (attempt - 1);
        await sleep(Math.round(cap / 2 + (random() * cap) / 2));
      }
    }
  }
}
