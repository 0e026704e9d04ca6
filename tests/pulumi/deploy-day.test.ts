/**
 * What a first `pulumi up` and its first jobs would hit, under mocks: per-stage SageMaker
 * roles, network isolation in the deployed ASL, the EventBridge rule to notify, the WAF in
 * front of the API, CORS headers a browser may read, environment-scoped job access, log and
 * upload retention, function sizes as stack options, DKIM records as an output.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { readStackConfigFile } from "../../pipeline/environment.js";
import { allStates } from "../../pipeline/asl.js";
import { readStackConfig, runUnderMocks, type MockedResource, type MockedRun } from "../../pipeline/pulumi/mocks.js";
import type { PolicyDocument, PolicyStatement } from "../../pipeline/pulumi/policies.js";
import { PipelineStack } from "../../pipeline/pulumi/stack.js";
import { environmentFromPulumiConfig } from "../../pipeline/pulumi/config.js";
import { DEFAULT_FUNCTION_SETTINGS, resolveFunctionSettings } from "../../pipeline/pulumi/function-settings.js";
import { perIpLimit } from "../../pipeline/pulumi/waf.js";
import { spaceport } from "../../stages/spaceport.js";
import * as pulumi from "@pulumi/pulumi";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const load = () => import("../../index.js");
const synth = (environment: string, file = join(ROOT, `Pulumi.${environment}.yaml`)) =>
  runUnderMocks({ load, environment, config: readStackConfig(file, environment) });

const runs: Record<string, MockedRun> = {};
beforeAll(async () => {
  for (const env of ["prod", "dev"]) runs[env] = await synth(env);
}, 90_000);

const ofType = (run: MockedRun, type: string) => run.resources.filter((r) => r.type === type);
const named = (run: MockedRun, type: string, name: string): MockedResource => {
  const found = ofType(run, type).filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0]!;
};
const policy = (run: MockedRun, name: string) => JSON.parse(named(run, "aws:iam/rolePolicy:RolePolicy", name).inputs["policy"] as string) as PolicyDocument;
const statement = (doc: PolicyDocument, sid: string): PolicyStatement => doc.Statement.find((s) => s.Sid === sid)!;
const asl = (run: MockedRun) =>
  JSON.parse(ofType(run, "aws:sfn/stateMachine:StateMachine")[0]!.inputs["definition"] as string) as { States: Record<string, { Parameters?: Record<string, unknown> }> };

describe.each(["prod", "dev"])("%s", (env) => {
  const run = () => runs[env]!;

  test("one SageMaker role per stage; its S3 statements cover only that stage's prefixes, listing included", () => {
    const machine = asl(run());
    for (const stage of spaceport.stages) {
      const role = named(run(), "aws:iam/role:Role", `spaceport-${stage.name}-sagemaker`);
      const params = (allStates(machine as never)[`Run ${stage.name}`] as (typeof machine.States)[string]).Parameters!;
      expect(params["RoleArn"]).toBe(role.state["arn"]);
      const doc = policy(run(), `spaceport-${stage.name}-sagemaker-policy`);
      const s3 = doc.Statement.filter((s) => s.Action.some((a) => a.startsWith("s3:")));
      const folders = new Set(s3.flatMap((s) => (s.Resource === "*" ? ["*"] : s.Resource)).flatMap((r) => [.../jobs\/[^/]+\/([a-z-]+)\//.exec(r)?.slice(1) ?? []]));
      // Training keeps its checkpoint folder (spot, its early model); the compressor's preview run reads that early model.
      const expected = {
        sfm: ["input", "sfm"],
        "gaussian-splatting": ["sfm", "model", "checkpoints/gaussian-splatting"],
        compressor: ["model", "delivery", "checkpoints/gaussian-splatting/early/model"],
      }[stage.name]!;
      expect([...folders].sort()).toEqual([...new Set(expected.map((f) => f.split("/")[0]!))].sort());
      const list = statement(doc, "ListStagePrefixes");
      expect(list.Condition!["StringLike"]!["s3:prefix"]).toEqual(expected.map((f) => `jobs/????????-??????-????????/${f}/*`).sort());
    }
    // The SfM container, which parses untrusted ZIPs, can write nothing CloudFront serves.
    const sfm = policy(run(), "spaceport-sfm-sagemaker-policy");
    expect(JSON.stringify(sfm)).not.toContain("/delivery/");
  });

  test("every job in the deployed ASL runs network-isolated and carries the environment's tag", () => {
    const machine = asl(run());
    for (const stage of spaceport.stages) {
      const params = (allStates(machine as never)[`Run ${stage.name}`] as (typeof machine.States)[string]).Parameters!;
      if (stage.kind === "processing") expect(params["NetworkConfig"]).toEqual({ EnableNetworkIsolation: true });
      else expect(params["EnableNetworkIsolation"]).toBe(true);
      expect(params["Tags"]).toContainEqual({ Key: "spaceport:environment", Value: env });
    }
  });

  test("the state machine's role creates and watches only this environment's jobs", () => {
    const doc = policy(run(), "spaceport-states-policy");
    expect(statement(doc, "CreateOwnJobs").Condition).toEqual({
      StringEquals: { "aws:RequestTag/spaceport:pipeline": "spaceport-ml", "aws:RequestTag/spaceport:environment": env },
    });
    expect(statement(doc, "WatchOwnJobs").Condition).toEqual({ StringEquals: { "aws:ResourceTag/spaceport:environment": env } });
  });

  test("an EventBridge rule on the state machine's unsuccessful endings invokes notify", () => {
    const machine = ofType(run(), "aws:sfn/stateMachine:StateMachine")[0]!;
    const notify = named(run(), "aws:lambda/function:Function", "spaceport-notify");
    const rule = named(run(), "aws:cloudwatch/eventRule:EventRule", "spaceport-execution-ended");
    expect(JSON.parse(rule.inputs["eventPattern"] as string)).toEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"], stateMachineArn: [machine.state["arn"]] },
    });
    const target = named(run(), "aws:cloudwatch/eventTarget:EventTarget", "spaceport-execution-ended-notify");
    expect(target.inputs["arn"]).toBe(notify.state["arn"]);
    expect(target.inputs["rule"]).toBe(rule.state["name"]);
    expect(rule.state["name"]).toEqual(expect.any(String));
    const permission = named(run(), "aws:lambda/permission:Permission", "spaceport-notify-execution-ended");
    expect(permission.inputs).toMatchObject({ principal: "events.amazonaws.com", sourceArn: rule.state["arn"], function: notify.state["name"] });
  });

  test("per-IP limits: a WAF rate-based rule on the CloudFront distribution that serves the API; apiUrl is that distribution", () => {
    const config = readStackConfigFile(join(ROOT, `Pulumi.${env}.yaml`), env);
    const acl = named(run(), "aws:wafv2/webAcl:WebAcl", "spaceport-api-waf");
    expect(acl.inputs["scope"]).toBe("CLOUDFRONT");
    const rules = acl.inputs["rules"] as { action: unknown; statement: { rateBasedStatement: { aggregateKeyType: string; limit: number; evaluationWindowSec: number } } }[];
    expect(rules[0]!.statement.rateBasedStatement).toEqual({ aggregateKeyType: "IP", limit: perIpLimit(config.apiRateLimit.ratePerSecond), evaluationWindowSec: 60 });
    expect(perIpLimit(config.apiRateLimit.ratePerSecond)).toBe(Math.max(10, Math.ceil(config.apiRateLimit.ratePerSecond * 60)));
    const cdn = named(run(), "aws:cloudfront/distribution:Distribution", "spaceport-api-cdn");
    expect(cdn.inputs["webAclId"]).toBe(acl.state["arn"]);
    const api = ofType(run(), "aws:apigatewayv2/api:Api")[0]!;
    expect((cdn.inputs["origins"] as { domainName: string }[])[0]!.domainName).toBe(new URL(api.state["apiEndpoint"] as string).host);
    expect(run().outputs["apiUrl"]).toBe(`https://${cdn.state["domainName"]}`);
    // API keys reach the origin on GET too (CloudFront forwards Authorization only when the cache policy keys on it).
    const cache = named(run(), "aws:cloudfront/cachePolicy:CachePolicy", "spaceport-api-cache");
    expect((cdn.inputs["defaultCacheBehavior"] as { cachePolicyId: string }).cachePolicyId).toBe(cache.id);
    expect(cache.inputs).toMatchObject({
      defaultTtl: 0,
      parametersInCacheKeyAndForwardedToOrigin: { headersConfig: { headerBehavior: "whitelist", headers: { items: ["authorization", "x-api-key"] } } },
    });
    // The WAF web ACL of CLOUDFRONT scope lives in us-east-1.
    expect(ofType(run(), "pulumi:providers:aws")[0]!.inputs["region"]).toBe("us-east-1");
  });

  test("CORS: a browser may read Location, Retry-After and x-request-id", () => {
    const api = ofType(run(), "aws:apigatewayv2/api:Api")[0]!;
    expect((api.inputs["corsConfiguration"] as { exposeHeaders: string[] }).exposeHeaders).toEqual(
      expect.arrayContaining(["location", "retry-after", "x-request-id"]),
    );
  });

  test("uploads expire after uploadRetentionDays; SageMaker's job log groups get a retention where managed", () => {
    const config = readStackConfigFile(join(ROOT, `Pulumi.${env}.yaml`), env);
    const uploads = run().outputs["uploadsBucket"];
    const lifecycle = ofType(run(), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").find((r) => r.inputs["bucket"] === uploads)!;
    const rules = lifecycle.inputs["rules"] as { id: string; expiration?: { days: number } }[];
    expect(rules.find((r) => r.id === "expire-uploads")!.expiration).toEqual({ days: config.uploadRetentionDays });
    expect(config.uploadRetentionDays).toBeLessThanOrEqual(7);
    const groups = ofType(run(), "aws:cloudwatch/logGroup:LogGroup").filter((g) => String(g.inputs["name"]).startsWith("/aws/sagemaker/"));
    if (env === "prod") {
      expect(groups.map((g) => [g.inputs["name"], g.inputs["retentionInDays"]]).sort()).toEqual([
        ["/aws/sagemaker/ProcessingJobs", 90],
        ["/aws/sagemaker/TrainingJobs", 90],
      ]);
    } else expect(groups).toEqual([]); // account-wide groups: one stack manages them
  });

  test("start-job and the other handlers know the stack's account (ExpectedBucketOwner)", () => {
    const fn = named(run(), "aws:lambda/function:Function", "spaceport-start-job");
    expect((fn.inputs["environment"] as { variables: Record<string, string> }).variables["SPACEPORT_ACCOUNT_ID"]).toBe("123456789012");
  });

  test("function sizes and timeouts are the documented defaults", () => {
    const ids = { "start-job": "startJob", "job-status": "jobStatus", notify: "notify", "retention-tagger": "retentionTagger" } as const;
    for (const [fn, id] of Object.entries(ids)) {
      const inputs = named(run(), "aws:lambda/function:Function", `spaceport-${fn}`).inputs;
      expect({ timeout: inputs["timeout"], memorySize: inputs["memorySize"] }).toEqual(DEFAULT_FUNCTION_SETTINGS[id]);
    }
  });
});

test("function settings are stack options: an override applies, a bad value names the field", async () => {
  expect(() => resolveFunctionSettings({ startJob: { timeout: 901 } })).toThrow("functionSettings.startJob.timeout");
  expect(() => resolveFunctionSettings({ notify: { memorySize: 64 } })).toThrow("functionSettings.notify.memorySize");
  const run = await runUnderMocks({
    environment: "prod",
    config: readStackConfig(join(ROOT, "Pulumi.prod.yaml"), "prod"),
    load: async () => ({
      default: () => {
        const stack = new PipelineStack("spaceport", {
          pipeline: spaceport,
          environment: "prod",
          config: environmentFromPulumiConfig("prod", pulumi.runtime.allConfig()),
          root: ROOT,
          functions: { startJob: "stages/lambda/start-job.ts", jobStatus: "stages/lambda/job-status.ts", notify: "stages/lambda/notify.ts", uploads: "stages/lambda/uploads.ts", cancel: "stages/lambda/cancel.ts", retry: "stages/lambda/retry.ts" },
          apiState: [],
          functionSettings: { startJob: { memorySize: 1024 }, jobStatus: { timeout: 29 } },
        });
        return { apiUrl: stack.apiUrl };
      },
    }),
  });
  expect(named(run, "aws:lambda/function:Function", "spaceport-start-job").inputs).toMatchObject({ memorySize: 1024, timeout: 120 });
  expect(named(run, "aws:lambda/function:Function", "spaceport-job-status").inputs).toMatchObject({ memorySize: 256, timeout: 29 });
}, 60_000);

test("with sesDomain, the DKIM CNAMEs to publish are a stack output", async () => {
  const dir = mkdtempSync(join(tmpdir(), "spaceport-dkim-"));
  const doc = parseYaml(readFileSync(join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
  doc.config["spaceport:sesDomain"] = "spaceport.example.com";
  const file = join(dir, "Pulumi.dkim.yaml");
  writeFileSync(file, stringifyYaml(doc));
  const run = await synth("dkim", file);
  const identity = ofType(run, "aws:sesv2/emailIdentity:EmailIdentity")[0]!;
  expect(identity.inputs["emailIdentity"]).toBe("spaceport.example.com");
  const tokens = (identity.state["dkimSigningAttributes"] as { tokens: string[] }).tokens; // what SES returns (mocked)
  expect(tokens).toHaveLength(3);
  expect(run.outputs["dkimRecords"]).toEqual(
    tokens.map((t) => ({ name: `${t}._domainkey.spaceport.example.com`, type: "CNAME", value: `${t}.dkim.amazonses.com` })),
  );
  expect(runs["prod"]!.outputs["dkimRecords"]).toEqual([]);
}, 60_000);
