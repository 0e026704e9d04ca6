/**
 * docs/deploy.md read as a first-time deployer reads it: every npm script, run.sh task, file,
 * config key and stack output it names exists. And `npm run synth`/`describe` set up Node and
 * the npm packages only (no PyTorch, no Chromium), while tests and the demo set up everything.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EnvironmentConfigSchema } from "../../pipeline/environment.js";
import { readStackConfig, runUnderMocks, type MockedRun } from "../../pipeline/pulumi/mocks.js";
import { RETENTION_TAG } from "../../pipeline/pulumi/retention.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const guide = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
const unique = (values: Iterable<string>) => [...new Set(values)].sort();
const all = (pattern: RegExp) => unique([...guide.matchAll(pattern)].map((m) => m[1]!));

let prod: MockedRun;
beforeAll(async () => {
  prod = await runUnderMocks({ load: () => import("../../index.js"), environment: "prod", config: readStackConfig(join(ROOT, "Pulumi.prod.yaml"), "prod") });
}, 90_000);

describe("docs/deploy.md names only things that exist", () => {
  test("npm scripts", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const named = all(/npm run (?:-s )?([a-z][a-z:-]*)/g);
    expect(named).toEqual(expect.arrayContaining(["describe", "synth"]));
    for (const name of named) expect(Object.keys(scripts)).toContain(name);
  });

  test("run.sh tasks", () => {
    const runSh = readFileSync(join(ROOT, "scripts/run.sh"), "utf8");
    for (const task of all(/bash scripts\/run\.sh ([a-z]+)/g)) expect(runSh).toMatch(new RegExp(`^\\s+(?:[a-z|]+\\|)?${task}(?:\\|[a-z|]+)?\\)`, "m"));
  });

  test("config keys, nested ones included", () => {
    const entries = EnvironmentConfigSchema.entries as Record<string, { wrapped?: { entries?: Record<string, unknown> } }>;
    const tags = new Set([RETENTION_TAG, "spaceport:pipeline", "spaceport:environment", "spaceport:stage", "spaceport:job"]);
    const keys = all(/`(spaceport:[A-Za-z.]+)/g).filter((k) => !tags.has(k));
    expect(keys.length).toBeGreaterThanOrEqual(14);
    for (const key of keys) {
      const [top, sub] = key.slice("spaceport:".length).split(".");
      if (!(top! in entries)) throw new Error(`docs/deploy.md names ${key}, which pipeline/environment.ts does not define`);
      if (sub) expect(Object.keys(entries[top!]!.wrapped?.entries ?? {})).toContain(sub);
    }
    // Every setting is in the settings table.
    for (const key of Object.keys(entries).filter((k) => k !== "region")) expect(guide).toContain(`\`spaceport:${key}\``);
    // The apiRateLimit fields the guide's table names exist.
    const apiRate = Object.keys(entries["apiRateLimit"]!.wrapped!.entries!);
    for (const field of ["ratePerSecond", "burst", "totalRatePerSecond", "totalBurst", "jobsPerDay"]) expect(apiRate).toContain(field);
  });

  test("stack outputs", () => {
    const outputs = all(/pulumi stack output ([A-Za-z]+)/g);
    expect(outputs).toEqual(expect.arrayContaining(["apiUrl", "uploadsBucket", "dkimRecords", "stateMachineArn", "deliveryBaseUrl"]));
    for (const name of outputs) expect(Object.keys(prod.outputs)).toContain(name);
  });

  test("files and commands", () => {
    for (const file of all(/`((?:pipeline|functions|stages|images|docs|scripts)\/[A-Za-z0-9_./<>-]+\.(?:ts|md|sh|yaml))`/g)) {
      if (file.includes("<")) continue;
      expect(existsSync(join(ROOT, file))).toBe(true);
    }
    for (const file of all(/node --import tsx ([\w/.-]+\.ts)/g)) expect(existsSync(join(ROOT, file))).toBe(true);
    // The guide ends with a smoke test a deployer runs.
    expect(guide).toMatch(/## Smoke test[\s\S]*curl[\s\S]*\/jobs\/<jobId>[\s\S]*delivery\/index\.html/);
    for (const topic of [/sandbox/i, /example\.com/, /## API keys/, /uploads bucket/i, /dkimRecords/]) expect(guide).toMatch(topic);
  });
});

describe("set-up per task", () => {
  /**
   * A copy of the scripts in a scratch root whose npm packages count as installed, on a PATH
   * where python3, apt-get and chromium only leave a mark: which set-up a task runs shows, and
   * nothing here touches the repository's own node_modules.
   */
  function sandbox() {
    const dir = mkdtempSync(join(tmpdir(), "spaceport-setup-"));
    const root = join(dir, "root");
    const bin = join(dir, "bin");
    const marks = join(dir, "marks");
    for (const folder of ["scripts", "bin", "node_modules", "stages", "pipeline/pulumi", "pipeline/local", "fakebin"]) mkdirSync(join(root, folder), { recursive: true });
    for (const file of ["scripts/env.sh", "scripts/run.sh", "bin/spaceport", "package-lock.json"]) copyFileSync(join(ROOT, file), join(root, file));
    chmodSync(join(root, "bin/spaceport"), 0o755);
    // The stamp ensure_node_modules compares: sha256 of the lockfile and the Node ABI.
    const lock = readFileSync(join(root, "package-lock.json"));
    writeFileSync(join(root, "node_modules/.spaceport-lock-hash"), `${createHash("sha256").update(lock).update(`${process.versions.modules}\n`).digest("hex").slice(0, 16)}\n`);
    symlinkSync(join(ROOT, "node_modules/tsx"), join(root, "node_modules/tsx"));
    for (const entry of ["stages/describe.ts", "pipeline/pulumi/synth.ts", "pipeline/local/cli.ts"]) writeFileSync(join(root, entry), `console.log("usage: npm run ${entry}");\n`);
    mkdirSync(bin);
    for (const tool of ["python3", "apt-get", "chromium", "npm"]) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho ${tool} >> "${marks}"\nexit 1\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    const env = { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, SPACEPORT_CACHE: join(dir, "cache"), SPACEPORT_CHROMIUM: "" };
    const run = (args: string[]) => spawnSync("bash", args, { cwd: root, env, encoding: "utf8", timeout: 60_000 });
    const used = () => (existsSync(marks) ? readFileSync(marks, "utf8").trim().split("\n") : []);
    return { run, used };
  }

  test("synth and describe need neither Python (PyTorch) nor Chromium", () => {
    const box = sandbox();
    for (const task of ["describe", "synth"]) {
      const result = box.run(["scripts/run.sh", task, "--help"]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/usage: npm run/);
    }
    expect(box.used()).toEqual([]);
  }, 60_000);

  test("tests and the demo still set up everything (here: the Python venv first)", () => {
    const box = sandbox();
    const pytest = box.run(["scripts/run.sh", "pytest", "--version"]);
    expect(pytest.status).not.toBe(0);
    expect(pytest.stderr).toMatch(/python3 -m venv failed/);
    const demo = box.run(["bin/spaceport", "--help"]);
    expect(demo.stderr).toMatch(/python3 -m venv failed/);
    expect(box.used()).toContain("python3");
    expect(box.used()).not.toContain("npm");
  }, 60_000);
});
