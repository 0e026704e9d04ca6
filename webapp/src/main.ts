/**
 * The operator's page: drop a ZIP or a folder of photos, watch it upload, pick the quality (with
 * the API's time and cost estimate), submit, and follow the jobs (stage, progress, time, the
 * failure reason, the viewer link to share), with cancel and retry. Plain DOM, no framework: a
 * handful of elements updated in place.
 */
import { call, type ApiConfig } from "./api.js";
import { signedIn, signIn, type CognitoConfig } from "./cognito.js";
import { duration, fetchJob, jobIds, rememberJob, STATE_WORDS, timing, type JobView } from "./jobs.js";
import { folderSource, pickedFolder, readDroppedFolder, zipFileSource } from "./sources.js";
import { upload, type UploadSource } from "./uploader.js";

interface Estimates {
  readonly options: Record<string, { values: string[]; default: string; description?: string }>;
  readonly estimate: { seconds: number; usd: number };
  /** The total per value of each option (the others at their defaults). */
  readonly byOption?: Record<string, Record<string, { seconds: number; usd: number }>>;
}

/** A job's expected total seconds from the cost model, by its quality. */
type ExpectedSeconds = (quality: string | undefined) => number;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const text = (el: HTMLElement, value: string) => {
  el.textContent = value;
};

/**
 * config.json: locally (spaceport dev) the API and the local key; on AWS (next to the page on
 * CloudFront) the API's `/me` base and the Cognito sign-in, never a key.
 */
async function loadConfig(): Promise<ApiConfig> {
  type Raw = { api: string; auth: { kind: "local-key"; key: string } | ({ kind: "cognito" } & CognitoConfig) };
  const raw = (await (await fetch("config.json", { cache: "no-store" })).json()) as Raw;
  if (raw.auth.kind === "local-key") return { api: raw.api, auth: { kind: "local-key", key: raw.auth.key } };
  const cognito = raw.auth;
  // Signed in before anything else; later calls take the kept token, or sign in again once it expires.
  if (!(await signedIn(cognito))) await signIn(cognito);
  return { api: raw.api, auth: { kind: "bearer", token: async () => (await signedIn(cognito)) ?? signIn(cognito) } };
}

async function main(): Promise<void> {
  const config = await loadConfig();
  const info = await call<Estimates>(config, "GET", "/estimates");
  const quality = $<HTMLSelectElement>("quality");
  const q = info.options["quality"];
  for (const value of q?.values ?? []) quality.append(new Option(value, value, value === q?.default, value === q?.default));
  const estimateFor = (value: string | undefined) => info.byOption?.["quality"]?.[value ?? ""] ?? info.estimate;
  const expectedSeconds: ExpectedSeconds = (value) => estimateFor(value).seconds;
  const showEstimate = () => {
    const e = estimateFor(quality.value);
    text($("estimate"), `Estimated: ${duration(e.seconds)} of processing, about $${e.usd.toFixed(2)} of compute (from the cost model)`);
  };
  quality.addEventListener("change", showEstimate);
  showEstimate();

  let input: string | undefined;
  const status = $("upload-status");
  const submit = $<HTMLButtonElement>("submit");
  const start = async (source: UploadSource) => {
    input = undefined;
    submit.disabled = true;
    text(status, `Uploading ${source.name} (${mb(source.size)})…`);
    let retries = 0;
    try {
      input = await upload(config, source, (p) => {
        retries = p.retries;
        $<HTMLProgressElement>("upload-bar").value = p.totalBytes ? p.sentBytes / p.totalBytes : 0;
        text(status, `${source.name}: ${mb(p.sentBytes)} of ${mb(p.totalBytes)} · ${mb(p.bytesPerSecond)}/s` + (p.retries ? ` · ${p.retries} part${p.retries > 1 ? "s" : ""} sent again` : "") + (p.resumedParts ? ` · resumed (${p.resumedParts} parts were already there)` : ""));
      });
      text(status, `${source.name} uploaded (${mb(source.size)})` + (retries ? `; ${retries} part${retries > 1 ? "s" : ""} had to be sent again.` : "."));
      status.dataset["state"] = "uploaded";
      submit.disabled = false;
    } catch (error) {
      text(status, `Upload stopped: ${(error as Error).message}`);
      status.dataset["state"] = "failed";
    }
  };
  wireDrop(start);

  submit.addEventListener("click", async () => {
    if (!input) return;
    submit.disabled = true;
    try {
      const job = await call<{ jobId: string }>(config, "POST", "/jobs", { input, email: $<HTMLInputElement>("email").value, options: { quality: quality.value } });
      rememberJob(job.jobId);
      text($("submit-status"), `Job ${job.jobId} submitted.`);
      await refresh(config, expectedSeconds);
    } catch (error) {
      text($("submit-status"), (error as Error).message);
      submit.disabled = false;
    }
  });

  // A failure email's Retry link: #retry=<job id> lists the job and offers its Retry button.
  const linked = /^#retry=([0-9a-f-]{24})$/.exec(location.hash)?.[1];
  if (linked) rememberJob(linked);
  await refresh(config, expectedSeconds);
  if (linked) document.querySelector(`#jobs li[data-job-id="${linked}"]`)?.scrollIntoView();
  setInterval(() => void refresh(config, expectedSeconds), 2000);
}

function wireDrop(start: (source: UploadSource) => Promise<void>): void {
  const zone = $("drop");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const item = event.dataTransfer?.items[0];
    const entry = item?.webkitGetAsEntry();
    if (entry?.isDirectory) return start(folderSource(entry.name, await readDroppedFolder(entry as FileSystemDirectoryEntry)));
    const file = item?.getAsFile();
    if (file) return start(zipFileSource(file));
  });
  $<HTMLInputElement>("pick-zip").addEventListener("change", (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void start(zipFileSource(file));
  });
  $<HTMLInputElement>("pick-folder").addEventListener("change", (event) => {
    const files = [...((event.target as HTMLInputElement).files ?? [])];
    if (files.length === 0) return;
    const folder = (files[0]!.webkitRelativePath || "photos").split("/")[0]!;
    try {
      void start(folderSource(folder, pickedFolder(files)));
    } catch (error) {
      text($("upload-status"), (error as Error).message);
    }
  });
}

async function refresh(config: ApiConfig, expectedSeconds: ExpectedSeconds): Promise<void> {
  const list = $("jobs");
  const jobs = await Promise.all((await jobIds(config)).map((id) => fetchJob(config, id).catch(() => undefined)));
  const rows = jobs.filter((j): j is JobView => j !== undefined).map((job) => row(config, job, expectedSeconds));
  list.replaceChildren(...rows);
}

function row(config: ApiConfig, job: JobView, expectedSeconds: ExpectedSeconds): HTMLElement {
  const li = document.createElement("li");
  li.className = `job ${job.state}`;
  li.dataset["jobId"] = job.jobId;
  li.dataset["state"] = job.state;
  const { elapsed, left } = timing(job, Date.now(), expectedSeconds(job.options["quality"]));
  const stage = job.stages.find((s) => s.name === job.stage);
  const line = (cls: string, value: string) => {
    const el = document.createElement("div");
    el.className = cls;
    el.textContent = value;
    li.append(el);
    return el;
  };
  line("title", `${STATE_WORDS[job.state]} · job ${job.jobId} · ${job.options["quality"] ?? ""}`);
  if (job.stage) line("stage", `Stage: ${job.stage}${stage?.waitingFor === "quota" ? " (waiting for a free machine)" : ""} · ${job.progress.toFixed(0)}% overall`);
  line("time", `Elapsed ${elapsed}${left ? ` · ${left} left` : ""}`);
  if (job.email) line("email", `Emails go to ${job.email}`);
  if (job.failure) line("failure", `${job.failure.stage ? `${job.failure.stage}: ` : ""}${job.failure.reason}. ${job.failure.advice}`);
  if (job.delivery) {
    const links = line("links", "");
    const open = Object.assign(document.createElement("a"), { href: job.delivery.viewer, target: "_blank", textContent: "Open the 3D viewer" });
    open.className = "viewer";
    const copy = button("Copy link to share", async () => {
      await navigator.clipboard.writeText(job.delivery!.viewer);
      copy.textContent = "Link copied";
    });
    links.append(open, " ", copy);
  }
  if (job.state === "running" || job.state === "queued") li.append(button("Cancel", () => act(config, job.jobId, "cancel", expectedSeconds)));
  if (job.state === "failed" || job.state === "cancelled") li.append(button("Retry from the failed stage", () => act(config, job.jobId, "retry", expectedSeconds)));
  return li;
}

async function act(config: ApiConfig, jobId: string, action: "cancel" | "retry", expectedSeconds: ExpectedSeconds): Promise<void> {
  try {
    await call(config, "POST", `/jobs/${jobId}/${action}`);
  } catch (error) {
    alert((error as Error).message);
  }
  await refresh(config, expectedSeconds);
}

function button(label: string, onClick: () => unknown): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => void onClick());
  return b;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

main().catch((error: unknown) => {
  text($("upload-status"), `The page could not start: ${(error as Error).message}`);
});
