/**
 * The local SageMaker on its own: requests refused as SageMaker refuses them, quota holds and
 * ResourceLimitExceeded, the container contract's paths kept inside the job folder, and the
 * messages for missing native dependencies.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CreateProcessingJobRequest } from "@aws-sdk/client-sagemaker";
import { compile, resolveReferences, type CompiledProcessingStage, type Pipeline } from "../../pipeline/index.js";
import { DataDir } from "../../pipeline/local/data.js";
import { currentProcess } from "../../pipeline/local/process.js";
import { missingDependencyHint, SageMakerEmulator } from "../../pipeline/local/sagemaker/emulator.js";
import { exitReason } from "../../pipeline/local/sagemaker/exit-reason.js";
import { JobStore } from "../../pipeline/local/store.js";
import { localTarget } from "../../pipeline/local/target.js";
import { tempDir, testConfig, testPipeline, writeZip } from "./fixtures.js";

const JOB = "20261126-093012-1a2b3c4d";

function setup(label: string, options: { prep?: string; quotaHoldMs?: number; repoRoot?: string; cores?: number } = {}) {
  const dir = tempDir(label);
  const pipeline: Pipeline = testPipeline(dir, options.prep ? { prep: options.prep } : {});
  const config = testConfig(1);
  const target = localTarget("test", config, pipeline);
  const compiled = compile(pipeline, target);
  const data = new DataDir(join(dir, "data"));
  const store = new JobStore(data.database);
  const emulator = new SageMakerEmulator({
    data,
    store,
    repoRoot: options.repoRoot ?? dir,
    pipeline,
    images: target.images,
    quotas: config.quotas,
    owner: currentProcess(),
    quotaHoldMs: options.quotaHoldMs ?? 0,
    stopGraceMs: 200,
    ...(options.cores ? { cores: options.cores } : {}),
  });
  writeZip(data.objectPath(target.bucket, `jobs/${JOB}/input/photos.zip`));
  const prepRequest = (attempt = 1): CreateProcessingJobRequest =>
    resolveReferences((compiled.stages[0] as CompiledProcessingStage).request, (path) => {
      if (path === "$.jobId") return JOB;
      if (path === "$.runs.prep.jobName") return `${JOB}-prep-${attempt}`;
      if (path === "$.inputUri") return `s3://${target.bucket}/jobs/${JOB}/input/photos.zip`;
      throw new Error(`unexpected reference ${path}`);
    });
  return { dir, data, store, emulator, prepRequest, target, close: async () => { await emulator.close(); store.close(); } };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("local SageMaker emulator", () => {
  it("refuses what SageMaker refuses, before creating anything", async () => {
    const t = setup("validate");
    try {
      const request = t.prepRequest();
      delete request.ProcessingInputs![0]!.S3Input!.S3InputMode; // the seed's production bug
      const error = await rejection(t.emulator.processingJob(request));
      expect(error.name).toBe("SageMaker.ValidationException");
      expect(error.message).toContain("processingInputs.1.member.s3Input.s3InputMode");
      expect(t.store.getSageMakerJob(`${JOB}-prep-1`)).toBeUndefined();
      expect(existsSync(t.data.jobDir(`${JOB}-prep-1`))).toBe(false);

      const bad = t.prepRequest();
      bad.ProcessingResources!.ClusterConfig!.InstanceType = "ml.p99.huge" as never;
      expect((await rejection(t.emulator.processingJob(bad))).message).toContain("not a known processing instance type");

      const unknownImage = t.prepRequest();
      unknownImage.AppSpecification!.ImageUri = "123456789012.dkr.ecr.us-west-2.amazonaws.com/other:latest";
      const imageError = await rejection(t.emulator.processingJob(unknownImage));
      expect(imageError.name).toBe("SageMaker.ValidationException");
      expect(imageError.message).toContain("is not the image of any stage");
    } finally {
      await t.close();
    }
  });

  it("job names are unique forever; a second create answers ResourceInUse", async () => {
    const t = setup("unique");
    try {
      const result = await t.emulator.processingJob(t.prepRequest());
      expect(result["ProcessingJobStatus"]).toBe("Completed");
      const again = await rejection(t.emulator.processingJob(t.prepRequest()));
      expect(again.name).toBe("SageMaker.ResourceInUse");
    } finally {
      await t.close();
    }
  });

  it("over quota: ResourceLimitExceeded at once without a hold, or waits for the instance with one", async () => {
    const slow = `sleep 0.5\n`;
    const t = setup("quota", { prep: slow });
    try {
      const first = t.emulator.processingJob(t.prepRequest(1));
      await new Promise((r) => setTimeout(r, 100));
      const error = await rejection(t.emulator.processingJob(t.prepRequest(2)));
      expect(error.name).toBe("SageMaker.ResourceLimitExceededException");
      expect(error.message).toBe(
        "The account-level service limit 'ml.c6i.xlarge for processing job usage' is 1 Instances, with current utilization of 1 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an increase for this quota.",
      );
      await first;
    } finally {
      await t.close();
    }
    const held = setup("quota-hold", { prep: slow, quotaHoldMs: 5000 });
    try {
      const started = Date.now();
      const waits: { jobName: string; inUse: number; quota: number }[] = [];
      held.emulator.on("waiting", (w) => waits.push(w));
      const results = await Promise.all([held.emulator.processingJob(held.prepRequest(1)), held.emulator.processingJob(held.prepRequest(2))]);
      expect(waits).toEqual([expect.objectContaining({ jobName: `${JOB}-prep-2`, inUse: 1, quota: 1, instanceType: "ml.c6i.xlarge", execution: JOB })]);
      expect(results.map((r) => r["ProcessingJobStatus"])).toEqual(["Completed", "Completed"]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // one after the other
    } finally {
      await held.close();
    }
  });

  it("sizes a stage's threads from the cores granted to it: at most its instance's vCPUs, at most the machine's", async () => {
    const prep = `echo "threads $OMP_NUM_THREADS $SPACEPORT_CPUS"\n`;
    for (const [cores, expected] of [[2, "threads 2 2"], [16, "threads 4 4"]] as const) {
      const t = setup(`cores-${cores}`, { prep, cores });
      try {
        const lines: string[] = [];
        t.emulator.on("log", (l) => { if (l.stream === "stdout") lines.push(l.line); });
        await t.emulator.processingJob(t.prepRequest());
        expect(lines).toContain(expected); // ml.c6i.xlarge has 4 vCPUs
      } finally {
        await t.close();
      }
    }
  });

  it("keeps LocalPaths inside the job's opt/ml folder", async () => {
    const t = setup("reroot");
    try {
      const request = t.prepRequest();
      request.ProcessingInputs![0]!.S3Input!.LocalPath = "/opt/ml/processing/../../../../etc/evil";
      const error = await rejection(t.emulator.processingJob(request));
      expect(error.name).toBe("States.TaskFailed");
      const cause = JSON.parse(error.message) as { FailureReason: string };
      expect(cause.FailureReason).toContain("leaves /opt/ml");
    } finally {
      await t.close();
    }
  });

  it("an input prefix with no objects fails the job like SageMaker does", async () => {
    const t = setup("noinput");
    try {
      const request = t.prepRequest();
      request.ProcessingInputs![0]!.S3Input!.S3Uri = `s3://${t.target.bucket}/jobs/${JOB}/input/missing.zip`;
      const cause = JSON.parse((await rejection(t.emulator.processingJob(request))).message) as { FailureReason: string; ProcessingJobStatus: string };
      expect(cause.ProcessingJobStatus).toBe("Failed");
      expect(cause.FailureReason).toMatch(/^ClientError: No S3 objects found under S3 URL "s3:\/\/.*missing\.zip"/);
    } finally {
      await t.close();
    }
  });

  it("names missing Python packages of a stage and the command that installs them", async () => {
    const repo = tempDir("repo");
    mkdirSync(join(repo, "images", "test-prep"), { recursive: true });
    writeFileSync(join(repo, "images", "test-prep", "requirements.txt"), "# pinned\nspaceport-not-a-real-package==1.2.3\n");
    const t = setup("deps", { repoRoot: repo });
    try {
      const cause = JSON.parse((await rejection(t.emulator.processingJob(t.prepRequest()))).message) as { FailureReason: string };
      expect(cause.FailureReason).toContain("missing Python packages spaceport-not-a-real-package==1.2.3");
      expect(cause.FailureReason).toContain("source scripts/env.sh && ensure_python");
    } finally {
      await t.close();
    }
  });

  it("turns a stage's import error into the module's name and the install command", async () => {
    const t = setup("import", { prep: `echo "ModuleNotFoundError: No module named 'pycolmap'" >&2\nexit 1\n` });
    try {
      const cause = JSON.parse((await rejection(t.emulator.processingJob(t.prepRequest()))).message) as { FailureReason: string };
      expect(cause.FailureReason).toContain('the Python module "pycolmap" is not installed');
      expect(cause.FailureReason).toContain("ensure_python");
    } finally {
      await t.close();
    }
    expect(missingDependencyHint(["bash: colmap: command not found"])).toContain('"colmap" is not installed');
    expect(missingDependencyHint(["all fine"])).toBeUndefined();
  });

  it("tells every stage that its links work while this machine serves them", async () => {
    const t = setup("links", { prep: `echo "links while served=$SPACEPORT_LINKS_WHILE_SERVED" > "$SPACEPORT_OPT_ML/output/message"\nexit 1\n` });
    try {
      const cause = JSON.parse((await rejection(t.emulator.processingJob(t.prepRequest()))).message) as { FailureReason: string };
      expect(cause.FailureReason).toContain("links while served=1");
    } finally {
      await t.close();
    }
  });

  const dockerWorks = spawnSync("docker", ["version"], { stdio: "ignore" }).status === 0;
  (dockerWorks ? it.skip : it)("--docker without a Docker engine says so and how to run without it", () => {
    const dir = tempDir("docker");
    const pipeline = testPipeline(dir);
    const config = testConfig();
    const data = new DataDir(join(dir, "data"));
    const store = new JobStore(data.database);
    try {
      expect(
        () =>
          new SageMakerEmulator({ data, store, repoRoot: dir, pipeline, images: localTarget("test", config, pipeline).images, quotas: config.quotas, owner: currentProcess(), docker: true }),
      ).toThrow(/--docker needs a running Docker engine.*run without --docker/s);
    } finally {
      store.close();
    }
  });

  it("--docker: builds the stage's image once, mounts the job's opt/ml at /opt/ml and runs it", async () => {
    // A stand-in docker CLI: records its arguments and plays the container with the stage's program.
    const bin = tempDir("fake-docker");
    const log = join(bin, "calls.txt");
    writeFileSync(
      join(bin, "docker"),
      `#!/usr/bin/env bash
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
  version) echo 27.0 ;;
  build) echo "Successfully built" ;;
  run) shift; envs=()
    while [ $# -gt 0 ]; do case "$1" in
      --rm) shift ;; --name|--gpus|--network|--cpus|--memory|--memory-swap) shift 2 ;; -v) mount="$2"; shift 2 ;; -e) envs+=("$2"); shift 2 ;; *) break ;;
    esac; done
    shift # the image tag
    exec env "\${envs[@]}" SPACEPORT_OPT_ML="\${mount%:/opt/ml}" bash "$FAKE_DOCKER_ENTRY" "$@" ;;
esac
`,
    );
    chmodSync(join(bin, "docker"), 0o755);
    const saved = { PATH: process.env["PATH"], log: process.env["FAKE_DOCKER_LOG"], entry: process.env["FAKE_DOCKER_ENTRY"] };
    const dir = tempDir("docker-run");
    const pipeline = testPipeline(dir);
    process.env["PATH"] = `${bin}:${saved.PATH}`;
    process.env["FAKE_DOCKER_LOG"] = log;
    process.env["FAKE_DOCKER_ENTRY"] = join(dir, "prep.sh");
    const config = testConfig(2);
    const target = localTarget("test", config, pipeline);
    const data = new DataDir(join(dir, "data"));
    const store = new JobStore(data.database);
    const emulator = new SageMakerEmulator({ data, store, repoRoot: dir, pipeline, images: target.images, quotas: config.quotas, owner: currentProcess(), docker: true });
    try {
      writeZip(data.objectPath(target.bucket, `jobs/${JOB}/input/photos.zip`));
      const request = (n: number) =>
        resolveReferences((compile(pipeline, target).stages[0] as CompiledProcessingStage).request, (path) =>
          path === "$.jobId" ? JOB : path === "$.runs.prep.jobName" ? `${JOB}-prep-${n}` : `s3://${target.bucket}/jobs/${JOB}/input/photos.zip`,
        );
      for (const n of [1, 2]) expect((await emulator.processingJob(request(n)))["ProcessingJobStatus"]).toBe("Completed");
      expect(readFileSync(data.objectPath(target.bucket, `jobs/${JOB}/prepared/listing.txt`), "utf8").trim()).toBe("photos.zip");
      const calls = readFileSync(log, "utf8").trim().split("\n");
      // the stand-in engine has a bridge network (`network inspect bridge` answers), so no --network host
      expect(calls.filter((c) => c.startsWith("build"))).toEqual(["build --platform linux/amd64 --build-arg ACCELERATOR=none -f images/test-prep/Dockerfile -t spaceport-local/prep:cpu ."]);
      const run = calls.find((c) => c.startsWith("run"))!;
      expect(run).toContain(`--name ${JOB}-prep-1 `);
      expect(run).toContain(` -v ${join(data.jobDir(`${JOB}-prep-1`), "opt", "ml")}:/opt/ml`);
      expect(run).toContain(`-e SPACEPORT_JOB_ID=${JOB}`);
      expect(run).not.toContain("SPACEPORT_OPT_ML"); // in the container it is /opt/ml itself
      expect(run).not.toContain("--gpus"); // a CPU instance type
      expect(run).toContain("--network none");
      expect(run).toMatch(/--cpus [0-9]+ --memory [0-9]+g --memory-swap [0-9]+g/);
      expect(run.trimEnd().endsWith("spaceport-local/prep:cpu")).toBe(true);
    } finally {
      await emulator.close();
      store.close();
      process.env["PATH"] = saved.PATH;
      for (const [key, value] of [["FAKE_DOCKER_LOG", saved.log], ["FAKE_DOCKER_ENTRY", saved.entry]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
  it("names the signal that killed a stage, with its last lines", async () => {
    const t = setup("killed", { prep: 'echo "loading 75 photos"\necho "matching features"\nkill -KILL $$\n' });
    try {
      const cause = JSON.parse((await rejection(t.emulator.processingJob(t.prepRequest()))).message) as { FailureReason: string };
      expect(cause.FailureReason).toBe(
        "AlgorithmError: stage prep was killed by SIGKILL (out of memory?) without writing a reason to /opt/ml/output/failure; its last output: loading 75 photos | matching features",
      );
    } finally {
      await t.close();
    }
  });

  it("reads docker's 128 + signal exit codes as signals", () => {
    expect(exitReason("sfm", { exitCode: 137, docker: true }, [])).toMatch(/^stage sfm was killed by SIGKILL \(out of memory\?\).*it printed nothing$/);
    expect(exitReason("sfm", { exitCode: 137 }, ["x"])).toMatch(/^stage sfm exited with code 137 .*its last output: x$/);
  });
});

