/**
 * Structured logs: one JSON object per line on stdout (CloudWatch Logs / the local runtime's
 * log). Every line carries `event` and, where there is one, `jobId`; email addresses are
 * masked with `maskEmail` before they get here.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type Logger = (level: LogLevel, event: string, fields?: LogFields) => void;

export const jsonLogger =
  (write: (line: string) => void = (line) => process.stdout.write(line + "\n")): Logger =>
  (level, event, fields = {}) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));

export const silentLogger: Logger = () => {};

/** `jane.doe@example.com` → `j***@e***.com`: enough to tell two recipients apart, not to write to one. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf(".");
  const tld = dot > 0 ? domain.slice(dot) : "";
  return `${local[0]}***@${domain[0] ?? ""}***${tld}`;
}

/**
 * A CloudWatch Embedded Metric Format line: CloudWatch turns it into a metric with no API
 * call (the alarm on `Spaceport/EmailSendFailures` is defined by the stack).
 */
export function metricLine(name: string, value: number, dimensions: Record<string, string>, now = new Date()): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [Object.keys(dimensions)], Metrics: [{ Name: name, Unit: "Count" }] }],
    },
    ...dimensions,
    [name]: value,
  });
}
export const METRIC_NAMESPACE = "Spaceport";
