/**
 * notify: called by the state machine (Lambda invoke payload, pipeline/compile.ts
 * `notifyState`) once on success and once on failure, and once with `preview` where the
 * delivering stage's early run delivered a preview (at most one per job). Sends one email; a failure to send is
 * logged as an error with an `EmailSendFailures` metric, recorded (`notification: retrying`, or
 * `failed` after the last attempt; ./state.ts) and thrown as `Spaceport.EmailNotSent`, which the
 * state machine retries with backoff and finally catches, so the job and its outputs are
 * unaffected. The same record keeps a retried invocation from mailing twice; a retried job
 * (redriven) is a new round with its own record. A failure of a round that a cancel request
 * stopped is not mailed: the cancel told the submitter. Logs carry the job id, never the full address.
 */
import * as v from "valibot";
import { seconds, type Duration } from "../../pipeline/duration.js";
import { estimateCost } from "../../pipeline/cost.js";
import { deliveryLinks } from "../../pipeline/define.js";
import { parseJson } from "../../pipeline/json.js";
import { JOB_ID, parseS3Uri, stageOutputPrefix } from "../../pipeline/layout.js";
import type { NotifyPayload as PipelineNotifyPayload } from "../../pipeline/notify-payload.js";
import { linkLifetimeOf, type FunctionConfig } from "../config.js";
import { deliveryFacts, linkLifetimeWords } from "../../pipeline/delivery-facts.js";
import { failureAdvice, failureReason, stageLabel } from "../failure.js";
import { deriveJobStatus } from "../job-status/derive.js";
import { cancelledMarkerKey } from "../markers.js";
import { maskEmail, metricLine, type Logger } from "../log.js";
import type { Executions, Mailer, ObjectStore } from "../ports.js";
import { warningsOf, type JobWarning } from "../warnings.js";
import { previewStatus, previewWarning } from "../job-status/preview.js";
import { afterFailedAttempt, notificationKey, readNotification, type NotificationRecord } from "./state.js";
import { renderFailureEmail, renderSuccessEmail, type RenderedEmail } from "./templates.js";
import { renderPreviewEmail } from "./preview-template.js";
import { EMAIL_NOT_SENT } from "../../pipeline/compile.js";

export const NotifyPayloadSchema = v.looseObject({
  jobId: v.pipe(v.string(), v.regex(JOB_ID, "must be a job id")),
  email: v.pipe(v.string(), v.maxLength(254), v.email("must be an email address")),
  options: v.optional(v.record(v.string(), v.string()), {}),
  stages: v.optional(v.record(v.string(), v.unknown()), {}),
  pipeline: v.optional(v.string()),
  status: v.picklist(["succeeded", "failed", "preview"]),
  /** `$$.Execution.RedriveCount`: which round of a retried job this is. */
  redriveCount: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
  deliveryUri: v.optional(v.pipe(v.string(), v.startsWith("s3://"))),
  failure: v.optional(
    v.looseObject({
      stage: v.optional(v.string()),
      error: v.optional(v.looseObject({ Error: v.optional(v.string()), Cause: v.optional(v.string()) })),
    }),
  ),
});
export type NotifyPayload = v.InferOutput<typeof NotifyPayloadSchema>;
/** The schema accepts exactly what the state machine sends (pipeline/notify-payload.ts): checked by tsc. */
export type PayloadMatches = NotifyPayload extends PipelineNotifyPayload ? true : never;
const payloadMatches: PayloadMatches = true;
void payloadMatches;

export interface NotifyDeps {
  readonly store: ObjectStore;
  readonly mailer: Mailer;
  /** For stage durations (and so the cost from actual times); optional. */
  readonly executions?: Executions;
  readonly log: Logger;
  /** Where EMF metric lines go (stdout in Lambda). */
  readonly metric?: (line: string) => void;
  readonly now?: () => Date;
}

export interface NotifyResult {
  readonly jobId: string;
  readonly status: "succeeded" | "failed" | "preview";
  readonly sent: boolean;
  readonly messageId?: string;
}

/** The email could not be sent; its name is what the state machine's email retrier matches. */
export class EmailNotSent extends Error {
  override readonly name = EMAIL_NOT_SENT;
}

export async function notify(event: unknown, deps: NotifyDeps, config: FunctionConfig): Promise<NotifyResult> {
  const parsed = v.safeParse(NotifyPayloadSchema, event);
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    const message = `invalid notify payload: ${v.getDotPath(issue) ?? "payload"}: ${issue.message}`;
    deps.log("error", "notify_invalid_payload", { message });
    throw new Error(message);
  }
  const payload = parsed.output;
  const { jobId } = payload;
  const bucket = config.processingBucket;
  // One preview email per job, whatever the round: a retried job that makes its preview again says nothing new.
  const round = payload.status === "preview" ? 0 : payload.redriveCount;
  const marker = notificationKey(jobId, payload.status, round);
  const logFields = { jobId, status: payload.status, email: maskEmail(payload.email) };
  const at = () => (deps.now?.() ?? new Date()).toISOString();

  // A cancel stops the stage, which ends the job through its failure branch: the cancel
  // request has already told the submitter, so no failure email.
  if (payload.status === "failed" && (await deps.store.getText(bucket, cancelledMarkerKey(jobId, round))) !== undefined) {
    deps.log("info", "notify_skipped_cancelled", logFields);
    return { jobId, status: payload.status, sent: false };
  }

  const previous = await readNotification(deps.store, bucket, jobId, payload.status, round);
  if (previous?.state === "sent") {
    deps.log("info", "notify_already_sent", logFields);
    return { jobId, status: payload.status, sent: false };
  }
  const attempts = (previous?.attempts ?? 0) + 1;
  const record = (fields: Omit<NotificationRecord, "attempts" | "updatedAt">) =>
    deps.store.putText(bucket, marker, JSON.stringify({ ...fields, attempts, updatedAt: at() }), "application/json");

  const previewSent = payload.status !== "preview" && (await readNotification(deps.store, bucket, jobId, "preview"))?.state === "sent";
  const email =
    payload.status === "succeeded"
      ? await successEmail(payload, deps, config, previewSent)
      : payload.status === "preview"
        ? await previewEmail(payload, deps, config)
        : failureEmail(payload, config, previewSent);
  let messageId: string;
  try {
    ({ messageId } = await deps.mailer.send({ to: payload.email, subject: email.subject, html: email.html, text: email.text, jobId }));
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    const state = afterFailedAttempt(attempts);
    deps.log("error", "email_send_failed", { ...logFields, error: (error as Error)?.name, message, attempts, notification: state });
    (deps.metric ?? ((line) => process.stdout.write(line + "\n")))(metricLine("EmailSendFailures", 1, { Environment: config.environment }));
    await record({ state, lastError: message.slice(0, 300) });
    throw new EmailNotSent(`the email to the submitter could not be sent (attempt ${attempts}, ${state}): ${message}`, { cause: error });
  }
  await record({ state: "sent", messageId, sentAt: at() });
  deps.log("info", "email_sent", { ...logFields, messageId });
  return { jobId, status: payload.status, sent: true, messageId };
}

function failureEmail(payload: NotifyPayload, config: FunctionConfig, previewSent: boolean): RenderedEmail {
  const error = payload.failure?.error?.Error;
  const reason = failureReason(error, payload.failure?.error?.Cause);
  const stage = payload.failure?.stage;
  const advice = failureAdvice(config.pipeline, stage, error, reason, payload.options);
  const retryUrl = config.appUrl ? retryLink(config.appUrl, payload.jobId) : undefined;
  return renderFailureEmail({ jobId: payload.jobId, ...(stage ? { stage: stageLabel(config.pipeline, stage) } : {}), reason, advice, ...(retryUrl ? { retryUrl } : {}), previewOnly: previewSent });
}

/** The page, opened on this job with its Retry offered (webapp/src/main.ts reads the fragment). */
export const retryLink = (appUrl: string, jobId: string): string => `${appUrl.replace(/#.*$/, "")}#retry=${encodeURIComponent(jobId)}`;

/** The delivery's links, after checking that `deliveryUri` is this job's delivery. */
async function deliveryUrls(payload: NotifyPayload, deps: NotifyDeps, config: FunctionConfig) {
  const { jobId } = payload;
  const bucket = config.processingBucket;
  const expectedPrefix = stageOutputPrefix(jobId, config.pipeline.delivery.output);
  const delivery = payload.deliveryUri ? parseS3Uri(payload.deliveryUri) : { bucket, key: expectedPrefix };
  if (delivery.bucket !== bucket || delivery.key !== expectedPrefix) {
    throw new Error(`deliveryUri ${payload.deliveryUri} is not this job's delivery (s3://${bucket}/${expectedPrefix})`);
  }
  const files = deliveryLinks(config.pipeline);
  const file = (name: string): string => {
    const declared = files[name];
    if (!declared) throw new Error(`the delivering stage of pipeline ${config.pipeline.name} declares no "${name}" link (links.${name})`);
    return declared;
  };
  const url = (name: string) => deps.store.publicUrl(bucket, expectedPrefix + file(name));
  const links = {
    viewer: await url("viewer"), preview: await url("preview"), scene: await url("scene"),
    ...(files["thumbnail"] ? { thumbnail: await url("thumbnail") } : {}),
  };
  return { links, file, expectedPrefix, bucket };
}

/** The early run's delivery: its links, marked as a preview that the final model replaces at the same links. */
async function previewEmail(payload: NotifyPayload, deps: NotifyDeps, config: FunctionConfig): Promise<RenderedEmail> {
  const { links } = await deliveryUrls(payload, deps, config);
  return renderPreviewEmail({ jobId: payload.jobId, links, ...(payload.options["quality"] ? { quality: payload.options["quality"] } : {}) });
}

async function successEmail(payload: NotifyPayload, deps: NotifyDeps, config: FunctionConfig, replacesPreview: boolean): Promise<RenderedEmail> {
  const { jobId } = payload;
  const { links, file, expectedPrefix, bucket } = await deliveryUrls(payload, deps, config);

  // Photo counts come from the report of the stage that reads the job's input (sfm).
  const intake = config.pipeline.stages.find((s) => Object.values(s.inputs).some((i) => i.kind === "job-input")) ?? config.pipeline.stages[0]!;
  const sfmReport = await readJson(deps.store, bucket, `${stageOutputPrefix(jobId, intake.outputs[0]!)}report.json`);
  const deliveryReport = await readJson(deps.store, bucket, expectedPrefix + file("report"));
  const scene = await deps.store.head(bucket, expectedPrefix + file("scene"));
  const photosReceived = pickNumber(sfmReport, ["photos_received"]);
  const photosUsed = pickNumber(sfmReport, ["photos_placed"]);
  const gaussians = pickNumber(deliveryReport, ["gaussians.delivered", "gaussians"]);
  const sceneBytes = scene?.size ?? pickNumber(deliveryReport, ["output.sogBytes"]);
  const facts = deliveryFacts(deliveryReport);

  const durations: { stage: string; seconds: number }[] = [];
  // A preview that could not be made is a warning of the job (its own email was never sent).
  const extraWarnings: JobWarning[] = [];
  let previewRan = replacesPreview;
  let totalSeconds: number | undefined;
  if (deps.executions) {
    try {
      const record = await deps.executions.describe(jobId);
      if (record) {
        const history = await deps.executions.history(jobId);
        const status = await deriveJobStatus(record, history, { pipeline: config.pipeline });
        const preview = await previewStatus(config.pipeline, history, { jobId, ended: false, failed: false });
        extraWarnings.push(...previewWarning(config.pipeline, preview));
        previewRan = preview !== undefined;
        for (const s of status.stages) if (s.durationSeconds !== undefined) durations.push({ stage: s.name, seconds: s.durationSeconds });
        totalSeconds = Math.round(((deps.now?.() ?? new Date()).getTime() - record.startDate.getTime()) / 1000);
      }
    } catch (error) {
      deps.log("warn", "notify_durations_unavailable", { jobId, message: String((error as Error)?.message ?? error) });
    }
  }
  const actual: Record<string, Duration> = {};
  for (const d of durations) actual[d.stage] = seconds(d.seconds);
  // The preview's run is part of what the job cost where it ran.
  const cost = estimateCost(config.pipeline, config.env, { durations: actual, choices: payload.options, preview: previewRan });

  return renderSuccessEmail({
    jobId,
    links,
    counts: {
      ...(photosReceived !== undefined ? { photosReceived } : {}),
      ...(photosUsed !== undefined ? { photosUsed } : {}),
      ...(gaussians !== undefined ? { gaussians } : {}),
      ...(sceneBytes !== undefined ? { sceneBytes } : {}),
    },
    durations: durations.map((d) => ({ stage: stageLabel(config.pipeline, d.stage), seconds: d.seconds })),
    ...(totalSeconds !== undefined ? { totalSeconds } : {}),
    costUsd: cost.totalUsd,
    ...(payload.options["quality"] ? { quality: payload.options["quality"] } : {}),
    ...(facts.quality ? { heldOut: facts.quality.words } : {}),
    ...(facts.place ? { place: facts.place.words } : {}),
    linkLifetime: linkLifetimeWords(linkLifetimeOf(config)),
    warnings: [...warningsOf(deliveryReport), ...extraWarnings].map((w) => ({ ...w, stage: stageLabel(config.pipeline, w.stage) })),
    replacesPreview,
  });
}

async function readJson(store: ObjectStore, bucket: string, key: string): Promise<unknown> {
  return parseJson(await store.getText(bucket, key));
}

/** The first of `paths` (dotted) that holds a finite, non-negative number. */
export function pickNumber(obj: unknown, paths: readonly string[]): number | undefined {
  for (const path of paths) {
    let current: unknown = obj;
    for (const key of path.split(".")) {
      current = typeof current === "object" && current !== null && Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
    }
    if (typeof current === "number" && Number.isFinite(current) && current >= 0) return current;
  }
  return undefined;
}
