/**
 * The `spaceport` command as a user runs it (a child process, no terminal): `run` on a folder of
 * photos with plain progress lines and a summary, a failing run's exit status and reason,
 * `jobs` and `status --history`; and every option of the --help texts documented in
 * docs/local-runs.md (and back).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jest } from "@jest/globals";
import { HELP, main } from "../../stages/cli.js";
import { REPO_ROOT } from "../../pipeline/local/runtime.js";
import { tempDir, writeConfigFile } from "./fixtures.js";

function spaceport(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "stages/cli.ts"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPACEPORT_SMTP_URL: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

function pipelineModule(dir: string, scripts: string): string {
  const file = join(dir, "pipeline.ts");
  writeFileSync(file, `import { testPipeline } from ${JSON.stringify(join(REPO_ROOT, "tests/local/fixtures.ts"))};\nexport const pipeline = testPipeline(${JSON.stringify(dir)}, ${scripts});\n`);
  return file;
}

describe("spaceport CLI", () => {
  it("run <folder>: zips it, shows plain progress per stage, a summary, and exits 0", async () => {
    const dir = tempDir("cli");
    const photos = join(dir, "photos");
    mkdirSync(photos);
    for (const name of ["IMG_0001.JPG", "IMG_0002.jpg", "notes.txt"]) writeFileSync(join(photos, name), `data of ${name}`);
    const common = ["--data-dir", join(dir, "data"), "--env", "test", "--config", writeConfigFile(dir), "--pipeline", pipelineModule(dir, "{}")];
    const run = await spaceport(["run", photos, "--quality", "high", "--email", "cli@example.com", ...common]);
    expect(run.out).toContain(`zipped 2 photos from ${photos}`);
    expect(run.code).toBe(0);
    const jobId = /job (\d{8}-\d{6}-[0-9a-f]{8}):/.exec(run.out)![1]!;
    for (const line of ["[prep] started", "[prep] 10% reading", "[prep] completed", "[train] 50% training", "[pack] completed"]) expect(run.out).toContain(line);
    expect(run.out).not.toMatch(/\x1b\[/); // no terminal codes when not on a terminal
    expect(run.out).toContain(`job ${jobId}: SUCCEEDED`);
    // The link the email carries, and what serves it once the run has ended.
    expect(run.out).toMatch(/viewer: http:\/\/127\.0\.0\.1:\d+\/files\/.*\/delivery\/index\.html\n\s+\(the email's link; once this run has ended, `spaceport open \d{8}-\d{6}-[0-9a-f]{8}` serves it there/);
    expect(run.out).toMatch(new RegExp(`email: ${join(dir, "data", "outbox")}/.*${jobId}.*\\.eml`));
    const hyper = JSON.parse(readFileSync(join(dir, "data", "sagemaker", `${jobId}-train-1`, "opt/ml/input/config/hyperparameters.json"), "utf8")) as Record<string, string>;
    expect(hyper["quality"]).toBe("high");

    const jobs = await spaceport(["jobs", "--data-dir", join(dir, "data")]);
    expect(jobs.code).toBe(0);
    expect(jobs.out).toMatch(new RegExp(`${jobId}\\s+SUCCEEDED\\s+pack`));
    const status = await spaceport(["status", jobId, "--history", "--data-dir", join(dir, "data")]);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`${jobId}-train-1`);
    expect(status.out).toContain("ExecutionSucceeded");
    const missing = await spaceport(["status", "20990101-000000-00000000", "--data-dir", join(dir, "data")]);
    expect(missing.code).toBe(1);
  }, 60_000);

  it("run: a failing stage gives exit status 1 and the reason", async () => {
    const dir = tempDir("cli-fail");
    const zip = join(dir, "in.zip");
    writeFileSync(zip, readFileSync(join(REPO_ROOT, "package.json"))); // any bytes: prep only checks the name
    const crash = `{ prep: ${JSON.stringify('echo "the photos have no GPS; enable GPS tagging on the drone" > "$SPACEPORT_OPT_ML/output/message"\nexit 2\n')} }`;
    const run = await spaceport(["run", zip, "--data-dir", join(dir, "data"), "--env", "test", "--config", writeConfigFile(dir), "--pipeline", pipelineModule(dir, crash)]);
    expect(run.code).toBe(1);
    expect(run.out).toContain("failed in stage prep: the photos have no GPS; enable GPS tagging on the drone");
    expect(run.out).toMatch(/log: .*-prep-1\/log\.txt/);
  }, 60_000);

  it("refuses bad usage with exit status 2 and says why", async () => {
    const notZip = join(tempDir("cli-usage"), "photos.tar");
    writeFileSync(notZip, "x");
    const result = await spaceport(["run", notZip, "--data-dir", join(tempDir("cli-usage"), "data")]);
    expect(result.code).toBe(2);
    expect(result.out).toContain("is not a .zip file");
    // In-process for the rest (a child process per check costs seconds).
    await expect(main(["launch"])).rejects.toThrow('unknown command "launch"');
    const printed: string[] = [];
    const log = jest.spyOn(console, "log").mockImplementation((text: string) => void printed.push(text));
    try {
      for (const command of ["dev", "run", "jobs", "status", "open"] as const) {
        expect(await main([command, "--help"])).toBe(0);
        expect(printed.pop()).toBe(HELP[command]);
      }
    } finally {
      log.mockRestore();
    }
  }, 60_000);

  it("answers --help and usage errors before any set-up, on the machine's own Node", () => {
    const cache = join(tempDir("cli-nosetup"), "cache");
    const bin = (args: string[]) => spawnSync("bash", [join(REPO_ROOT, "bin/spaceport"), ...args], { encoding: "utf8", env: { ...process.env, SPACEPORT_CACHE: cache } });
    const helped = bin(["run", "--help"]);
    expect({ code: helped.status, out: helped.stdout, err: helped.stderr }).toEqual({ code: 0, out: `${HELP.run}\n`, err: "" });
    const wrong = bin(["status"]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("status needs a job id");
    expect(bin(["launch"]).stderr).toContain('unknown command "launch"');
    expect(bin(["open", "x", "--port", "99999"]).stderr).toContain("--port must be a number from 0 to 65535");
    expect(existsSync(cache)).toBe(false); // nothing was set up
    // Debian's Node (older than the project's 22) runs the checks too.
    if (existsSync("/usr/bin/node")) {
      const old = spawnSync("/usr/bin/node", [join(REPO_ROOT, "pipeline/local/cli/usage.mjs"), "jobs", "--help"], { encoding: "utf8" });
      expect({ code: old.status, out: old.stdout }).toEqual({ code: 0, out: `${HELP.jobs}\n` });
      expect(spawnSync("/usr/bin/node", [join(REPO_ROOT, "pipeline/local/cli/usage.mjs"), "jobs"]).status).toBe(10);
      expect(spawnSync("/usr/bin/node", [join(REPO_ROOT, "pipeline/local/cli/usage.mjs"), "run", "a.zip"]).status).toBe(11);
    }
  });

  it("documents every option of every command in docs/local-runs.md, and nothing else", () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/local-runs.md"), "utf8");
    const options = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)].map((m) => m[1]!));
    const inHelp = new Set(Object.values(HELP).flatMap((text) => [...options(text)]));
    for (const option of inHelp) expect(doc).toContain(`--${option}`);
    for (const option of options(doc)) {
      // Flags of other programs in the text (curl, python -m samples.survey, docker run, a bench) are not ours.
      if (["data-binary", "out", "gpus", "unshared"].includes(option)) continue;
      expect(inHelp).toContain(option);
    }
    for (const command of ["dev", "run", "jobs", "status", "open"]) expect(doc).toContain(`spaceport ${command}`);
    // The README's short section names only real options, and links the full page.
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Local runs"), readme.indexOf("\n## ", readme.indexOf("## Local runs") + 3));
    expect(section).toContain("(docs/local-runs.md)");
    for (const option of options(section)) expect(inHelp).toContain(option);
  });
});
