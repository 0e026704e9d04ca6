/** What the CLI says about a job's notification: what really happened, never an assumed success. */
import type { NotificationState } from "../../functions/notify/state.js";

export function notificationText(outcome: { state: NotificationState | undefined; error?: string | undefined }): string {
  const why = outcome.error ? ` (${outcome.error.replace(/\s+/g, " ").slice(0, 200)})` : "";
  switch (outcome.state) {
    case "sent":
      return "submitter notified";
    case "retrying":
      return `the submitter's email could not be sent yet${why}; retrying with backoff (see notification in GET /jobs/{id})`;
    case "failed":
      return `the submitter's email could not be sent${why}; gave up after the last retry`;
    default:
      return "no email was sent";
  }
}
