/**
 * The success path end to end through the HTTP API: POST /jobs → the compiled state machine in
 * aws-local-stepfunctions → the local SageMaker running the test's own stage programs → notify
 * → an email in a real SMTP server on loopback. The exact event sequence is asserted, so a Task
 * that silently throws (the Node 20 failure mode: Catch routes every job to failure) fails here.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { compile } from "../../pipeline/index.js";
import { localTarget } from "../../pipeline/local/target.js";
import { handlers } from "../../functions/handlers.js";
import { linkBaseOf, linkPortOf } from "../../pipeline/local/links.js";
import { startLocalServices, type LocalServices } from "../../pipeline/local/services.js";
import { startSmtp, tempDir, testConfig, testPipeline, until, writeZip } from "./fixtures.js";

describe("local runtime: success path through the HTTP API", () => {
  let services: LocalServices;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let dir: string;
  const config = testConfig();

  beforeAll(async () => {
    dir = tempDir("success");
    smtp = await startSmtp();
    services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config,
      pipeline: testPipeline(dir),
      port: 0,
      env: { SPACEPORT_SMTP_URL: smtp.url },
      retry: { quotaMs: 50, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 0,
    });
  });
  afterAll(async () => {
    await services?.close();
    await smtp?.close();
  });

  it("runs exactly the compiled definition (one compile, two runtimes)", () => {
    const expected = compile(services.runtime.pipeline, localTarget("test", config, services.runtime.pipeline)).definitionJson;
    expect(services.runtime.executions.definitionJson).toBe(expected);
    expect(services.runtime.compiled.definitionJson).toBe(expected);
  });

  it("refuses a request without the API key, like the Lambda API", async () => {
    const response = await fetch(`${services.baseUrl}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status).toBe(401);
  });

  it("submits, runs every stage, delivers and emails", async () => {
    const input = services.upload(writeZip(join(dir, "photos.zip")));
    const response = await fetch(`${services.baseUrl}/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ input, email: "pilot@example.com", options: { quality: "preview" } }),
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const record = await services.runtime.executions.wait(jobId);
    expect(record?.status).toBe("SUCCEEDED");

    // The success path, state by state: no Catch, no failure branch.
    const history = await services.runtime.executions.history(jobId);
    const states = history.filter((e) => e.type.endsWith("StateEntered")).map((e) => e.stateName);
    expect(states).toEqual([
      "Start job",
      "Prepare prep", "Prepare prep: name", "Run prep",
      "Prepare train", "Prepare train: name", "Run train",
      "Prepare pack", "Prepare pack: name", "Run pack",
      "Notify success", "Job succeeded",
    ]);
    expect(history.some((e) => /Failed$/.test(e.type))).toBe(false);
    expect(history.at(0)?.type).toBe("ExecutionStarted");
    expect(history.at(-1)?.type).toBe("ExecutionSucceeded");

    // The container contract, as SageMaker lays it out.
    const data = services.runtime.data;
    const trainJob = `${jobId}-train-1`;
    const hyper = JSON.parse(readFileSync(join(data.jobDir(trainJob), "opt/ml/input/config/hyperparameters.json"), "utf8")) as Record<string, unknown>;
    expect(hyper).toEqual({ quality: "preview", steps: "2", verbose: "true" });
    expect(readFileSync(join(data.jobDir(`${jobId}-prep-1`), "opt/ml/processing/output/prepared/listing.txt"), "utf8").trim()).toBe("photos.zip");
    const bucket = services.buckets.processing;
    const model = data.objectPath(bucket, `jobs/${jobId}/model/${trainJob}/output/model.tar.gz`);
    const entries: string[] = [];
    await tar.list({ file: model, onReadEntry: (e) => entries.push(e.path) });
    expect(entries.sort()).toEqual(["hyperparameters.json", "listing.txt", "point_cloud.ply"]);
    expect(readFileSync(data.objectPath(bucket, `jobs/${jobId}/checkpoints/train/step-2.txt`), "utf8").trim()).toBe("checkpoint");
    expect(readFileSync(data.objectPath(bucket, `jobs/${jobId}/prepared/job.txt`), "utf8").trim()).toBe(`job=${jobId}`);
    for (const file of ["index.html", "scene.sog", "preview.webp", "report.json"]) {
      expect(existsSync(data.objectPath(bucket, `jobs/${jobId}/delivery/${file}`))).toBe(true);
    }
    // Inputs are never deleted.
    expect(existsSync(data.uriToPath(input))).toBe(true);

    // Stage results as the state machine saw them (Describe* shapes through ResultSelector).
    const output = JSON.parse(record!.output!) as { stages: Record<string, Record<string, string>> };
    expect(output.stages["train"]).toEqual({ jobName: trainJob, status: "Completed", modelArtifacts: `s3://${bucket}/jobs/${jobId}/model/${trainJob}/output/model.tar.gz` });
    expect(output.stages["prep"]).toEqual({ jobName: `${jobId}-prep-1`, status: "Completed" });
    const describe = services.runtime.store.getSageMakerJob(trainJob)!.describe as { FinalMetricDataList: { MetricName: string; Value: number }[] };
    expect(describe.FinalMetricDataList).toEqual(expect.arrayContaining([expect.objectContaining({ MetricName: "train:psnr", Value: 24.5 }), expect.objectContaining({ MetricName: "held_out:psnr", Value: 19.5 })]));

    // Progress and status through the API.
    expect(await services.runtime.executions.latest("training", trainJob)).toBe(100);
    const status = await fetch(`${services.baseUrl}/jobs/${jobId}`, { headers: { authorization: `Bearer ${services.apiKey}` } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { state: string }).state).toBe("succeeded");

    // The email, over real SMTP, with a viewer link that this server serves.
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual(["pilot@example.com"]);
    const viewer = services.viewerUrl(jobId);
    expect(mail!.text).toContain(viewer);
    const page = await fetch(viewer);
    expect(page.status).toBe(200);
    // Typed as CloudFront types it, and nosniff as CloudFront sends it: a mistyped file fails here.
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await page.text()).toContain("viewer");

    // The links' base is remembered, for `spaceport open` once this server has stopped.
    expect(linkBaseOf(data, jobId)).toBe(services.baseUrl);
    expect(linkPortOf(data, jobId)).toBe(Number(new URL(services.baseUrl).port));

    // Logs of each stage are kept beside its job folder.
    expect(readdirSync(data.jobDir(`${jobId}-pack-1`))).toContain("log.txt");
  });
});

describe("local runtime: job-status while a stage runs", () => {
  it("GET /jobs/{id} shows the running stage and the progress its program printed", async () => {
    const dir = tempDir("status");
    const prep = `
echo "progress: 42.5% matching"
ls "$SPACEPORT_OPT_ML/processing/input/photos" > "$SPACEPORT_OPT_ML/processing/output/prepared/listing.txt"
sleep 1
test -f "$SPACEPORT_OPT_ML/processing/input/photos/photos.zip"
`;
    const services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(),
      pipeline: testPipeline(dir, { prep }),
      port: 0,
      env: {},
    });
    try {
      const input = services.upload(writeZip(join(dir, "photos.zip")));
      const auth = { authorization: `Bearer ${services.apiKey}` };
      const response = await fetch(`${services.baseUrl}/jobs`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ input, email: "s@example.com" }) });
      const { jobId } = (await response.json()) as { jobId: string };
      const body = await until("progress in job-status", async () => {
        const status = (await (await fetch(`${services.baseUrl}/jobs/${jobId}`, { headers: auth })).json()) as { state: string; stage: string; stages: { name: string; progress?: number }[] };
        return status.stages[0]?.progress !== undefined && status;
      });
      expect(body.state).toBe("running");
      expect(body.stage).toBe("prep");
      expect(body.stages[0]!.progress).toBe(42.5);
      expect((await services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
    } finally {
      await services.close();
    }
  });
});

