/**
 * StageProgress on AWS: the latest `progress: <pct>%` line a stage printed (images/README.md),
 * read from the SageMaker job's CloudWatch Logs streams (`/aws/sagemaker/ProcessingJobs` or
 * `/aws/sagemaker/TrainingJobs`, streams `<jobName>/...`) with FilterLogEvents.
 *
 * The client is structural: `new CloudWatchLogs({ region })` from `@aws-sdk/client-cloudwatch-logs`
 * fits it as is. That package is not a dependency yet, so the Lambda wrappers wire this only when
 * a reader is supplied (see functions/README.md); without it job-status simply omits progress.
 */
import type { StageProgress } from "../../ports.js";

export interface FilterLogEventsInput {
  logGroupName: string;
  logStreamNamePrefix?: string;
  filterPattern?: string;
  startTime?: number;
  nextToken?: string;
  limit?: number;
}
export interface FilterLogEventsOutput {
  events?: { message?: string; timestamp?: number }[];
  nextToken?: string;
}
export interface LogsReader {
  filterLogEvents(input: FilterLogEventsInput): Promise<FilterLogEventsOutput>;
}

export const LOG_GROUPS = { processing: "/aws/sagemaker/ProcessingJobs", training: "/aws/sagemaker/TrainingJobs" } as const;
const PROGRESS = /progress:\s*([0-9]+(?:\.[0-9]+)?)%/;

export class CloudWatchStageProgress implements StageProgress {
  constructor(
    private readonly logs: LogsReader,
    private readonly options: { readonly now?: () => number; readonly windowMs?: number; readonly maxPages?: number } = {},
  ) {}

  async latest(jobKind: "processing" | "training", sageMakerJobName: string): Promise<number | undefined> {
    const now = this.options.now?.() ?? Date.now();
    // Recent lines first (cheap); a stage that has been quiet longer is searched from the start.
    const recent = await this.scan(jobKind, sageMakerJobName, now - (this.options.windowMs ?? 30 * 60_000));
    return recent ?? (await this.scan(jobKind, sageMakerJobName, undefined));
  }

  private async scan(jobKind: "processing" | "training", jobName: string, startTime: number | undefined): Promise<number | undefined> {
    let latest: { value: number; at: number } | undefined;
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await this.logs.filterLogEvents({
        logGroupName: LOG_GROUPS[jobKind],
        logStreamNamePrefix: `${jobName}/`,
        filterPattern: '"progress:"',
        ...(startTime !== undefined ? { startTime } : {}),
        ...(token ? { nextToken: token } : {}),
      });
      for (const event of out.events ?? []) {
        const match = PROGRESS.exec(event.message ?? "");
        const at = event.timestamp ?? 0;
        if (match && (!latest || at >= latest.at)) latest = { value: Math.min(100, Number(match[1])), at };
      }
      token = out.nextToken;
    } while (token && ++pages < (this.options.maxPages ?? 20));
    return latest?.value;
  }
}
