/**
 * A job that succeeds with warnings, run locally from the CLI: the last stage's report carries
 * the stages' warnings; the run's summary says "succeeded with warnings" and lists them, and so
 * does the email the local outbox receives.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../pipeline/local/runtime.js";
import { deliveryWarnings, warningLines } from "../../pipeline/local/warnings.js";
import { tempDir, testPipeline, writeConfigFile } from "./fixtures.js";

const WARNING = { stage: "prep", code: "georeference-not-metric", message: "The model is not reliably metric: 121.4 m RMS over a 402 m site." };
const PACK = `
out="$SPACEPORT_OPT_ML/processing/output/delivery"
mkdir -p "$out"
echo "<html><body>viewer</body></html>" > "$out/index.html"
echo "sog" > "$out/scene.sog"
echo "webp" > "$out/preview.webp"
echo '${JSON.stringify({ gaussians: 3, warnings: [WARNING] })}' > "$out/report.json"
echo "progress: 100% packed"
`;

describe("warnings in the local run's summary and email", () => {
  it("run: the summary and the email say the job succeeded with warnings and list them", () => {
    const dir = tempDir("cli-warnings");
    const photos = join(dir, "photos");
    mkdirSync(photos);
    writeFileSync(join(photos, "IMG_0001.JPG"), "photo");
    const pipeline = join(dir, "pipeline.ts");
    writeFileSync(pipeline, `import { testPipeline } from ${JSON.stringify(join(REPO_ROOT, "tests/local/fixtures.ts"))};\nexport const pipeline = testPipeline(${JSON.stringify(dir)}, { pack: ${JSON.stringify(PACK)} });\n`);
    const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "stages/cli.ts"), "run", photos, "--email", "w@example.com",
      "--data-dir", join(dir, "data"), "--env", "test", "--config", writeConfigFile(dir), "--pipeline", pipeline],
    { cwd: REPO_ROOT, env: { ...process.env, SPACEPORT_SMTP_URL: "" }, encoding: "utf8" });
    const out = run.stdout + run.stderr;
    expect(run.status).toBe(0);
    const jobId = /job (\d{8}-\d{6}-[0-9a-f]{8}):/.exec(out)![1]!;
    expect(out).toMatch(new RegExp(`job ${jobId}: SUCCEEDED with warnings after`));
    expect(out).toContain(`succeeded with warnings:\n  prep: ${WARNING.message} [georeference-not-metric]`);
    const email = readFileSync(/^email: (\S+\.eml)$/m.exec(out)![1]!, "utf8");
    expect(email).toContain("with warnings");
    expect(email).toContain("The job succeeded with warnings:");
  }, 60_000);

  it("a report without warnings, or none at all, gives no lines", () => {
    const dir = tempDir("cli-warnings-none");
    const pipeline = testPipeline(dir);
    mkdirSync(join(dir, "delivery"));
    writeFileSync(join(dir, "delivery", "report.json"), JSON.stringify({ warnings: [{ code: "no stage" }] }));
    expect(deliveryWarnings(dir, pipeline)).toEqual([]);
    expect(deliveryWarnings(undefined, pipeline)).toEqual([]);
    expect(deliveryWarnings(join(dir, "missing"), pipeline)).toEqual([]);
    expect(warningLines([])).toEqual([]);
  });
});
