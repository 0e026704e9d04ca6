import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EnvironmentConfigError, parseEnvironmentConfig, quotaFor, readStackConfigFile } from "../../pipeline/index.js";

const root = resolve(import.meta.dirname, "../..");

describe("environment config", () => {
  it("reads the approved prod quotas from Pulumi.prod.yaml", () => {
    const prod = readStackConfigFile(resolve(root, "Pulumi.prod.yaml"), "prod");
    expect(prod.region).toBe("us-west-2");
    expect(quotaFor(prod, "ml.g4dn.xlarge", "training")).toBe(1);
    expect(quotaFor(prod, "ml.c6i.2xlarge", "processing")).toBe(1);
    expect(quotaFor(prod, "ml.c6i.4xlarge", "processing")).toBe(2);
    expect(quotaFor(prod, "ml.c6i.4xlarge", "training")).toBeUndefined();
  });

  it("names the key of a missing or invalid setting", () => {
    const dir = mkdtempSync(join(tmpdir(), "spaceport-env-"));
    const file = join(dir, "Pulumi.bad.yaml");
    writeFileSync(
      file,
      "config:\n  aws:region: us-west-2\n  spaceport:quotas:\n    - { instanceType: ml.c6i.2xlarge, jobKind: processing, count: -1 }\n  spaceport:alarmEmail: not-an-email\n",
    );
    let error: unknown;
    try {
      readStackConfigFile(file, "bad");
    } catch (e) {
      error = e;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(error).toBeInstanceOf(EnvironmentConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/spaceport:quotas\.0\.count/);
    expect(message).toMatch(/spaceport:alarmEmail: must be an email address/);
    expect(message).toMatch(/spaceport:sesSender/);
  });

  it("rejects unknown settings and unknown instance types", () => {
    expect(() =>
      parseEnvironmentConfig("x", {
        region: "us-west-2",
        quotas: [{ instanceType: "ml.nope", jobKind: "training", count: 1 }],
        sesSender: "a@b.co",
        alarmEmail: "a@b.co",
        typo: 1,
      }),
    ).toThrow(/spaceport:quotas\.0\.instanceType: unknown SageMaker instance type "ml.nope"[\s\S]*spaceport:typo/);
  });
});
