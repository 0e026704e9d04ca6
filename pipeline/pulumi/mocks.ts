/**
 * Runs a Pulumi program under `pulumi.runtime.setMocks`: no CLI, no engine, no AWS account.
 * Every resource the program registers is recorded with its inputs, and the mock "cloud"
 * answers with plausible, deterministic outputs (ARNs, bucket names, image digests), so the
 * program's own `apply`s (the compiled ASL, the IAM policies) run for real.
 *
 * Used by `npm run synth` and by tests/pulumi. Mocks are set before the program is imported.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { EnvironmentConfigError } from "../environment.js";
import { encodeConfigValue } from "./config.js";

export const MOCK_ACCOUNT = "123456789012";

export interface MockedResource {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
  readonly state: Record<string, unknown>;
}

export interface MockedRun {
  readonly environment: string;
  readonly resources: readonly MockedResource[];
  readonly outputs: Record<string, unknown>;
}

const short = (text: string, n = 8): string => createHash("sha256").update(text).digest("hex").slice(0, n);

/** Reads `Pulumi.<env>.yaml` the way the CLI hands it to a program: key → string. */
export function readStackConfig(path: string, environment: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new EnvironmentConfigError(environment, [{ key: path, message: `no such stack file (create it, or pick an existing --env)` }]);
    }
    throw new EnvironmentConfigError(environment, [{ key: path, message: (error as Error).message }]);
  }
  const config = (doc as { config?: Record<string, unknown> } | null)?.config;
  if (!config || typeof config !== "object") {
    throw new EnvironmentConfigError(environment, [{ key: "config", message: `${path} has no "config:" section` }]);
  }
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, encodeConfigValue(v)]));
}

/** Cognito's ids: a pool id is `<region>_<id>` (the JWT issuer ends with it), a client id 26 characters. */
function cognitoState(type: string, name: string, inputs: Record<string, unknown>, region: string): { id: string; state: Record<string, unknown> } | undefined {
  if (type === "aws:cognito/userPool:UserPool") {
    const id = `${region}_${short(name, 9)}`;
    return { id, state: { ...inputs, arn: `arn:aws:cognito-idp:${region}:${MOCK_ACCOUNT}:userpool/${id}`, endpoint: `cognito-idp.${region}.amazonaws.com/${id}` } };
  }
  if (type === "aws:cognito/userPoolClient:UserPoolClient") return { id: short(name, 26), state: { ...inputs } };
  return undefined;
}

/** Outputs the mock cloud gives each resource type (the rest echo their inputs). */
function mockState(type: string, name: string, inputs: Record<string, unknown>, region: string, environment: string): { id: string; state: Record<string, unknown> } {
  const arnOf = (service: string, resource: string) => `arn:aws:${service}:${region}:${MOCK_ACCOUNT}:${resource}`;
  // Pulumi's auto-naming (`<name>-<random>`), made deterministic so synth output diffs cleanly.
  const autoName = `${name}-${short(`${environment}/${type}/${name}`, 7)}`;
  const named = (key: string) => (typeof inputs[key] === "string" ? (inputs[key] as string) : autoName);
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = named("bucket");
      return {
        id: bucket,
        state: { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`, region },
      };
    }
    case "aws:iam/role:Role": {
      const roleName = named("name");
      return { id: roleName, state: { ...inputs, name: roleName, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${roleName}` } };
    }
    case "aws:ecr/repository:Repository": {
      const repo = named("name");
      return {
        id: repo,
        state: { ...inputs, name: repo, arn: arnOf("ecr", `repository/${repo}`), repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${repo}` },
      };
    }
    case "docker-build:index:Image": {
      const digest = `sha256:${short(JSON.stringify(inputs["dockerfile"]), 64)}`;
      const tag = (inputs["tags"] as string[] | undefined)?.[0] ?? name;
      return { id: digest, state: { ...inputs, digest, ref: `${tag}@${digest}`, contextHash: short(name, 64) } };
    }
    case "aws:lambda/function:Function": {
      const fn = named("name");
      const arn = arnOf("lambda", `function:${fn}`);
      return {
        id: fn,
        state: { ...inputs, name: fn, arn, invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations` },
      };
    }
    case "aws:sfn/stateMachine:StateMachine": {
      const sm = named("name");
      return { id: arnOf("states", `stateMachine:${sm}`), state: { ...inputs, name: sm, arn: arnOf("states", `stateMachine:${sm}`) } };
    }
    case "aws:apigatewayv2/api:Api": {
      const id = short(name, 10);
      return {
        id,
        state: { ...inputs, arn: `arn:aws:apigateway:${region}::/apis/${id}`, apiEndpoint: `https://${id}.execute-api.${region}.amazonaws.com`, executionArn: arnOf("execute-api", id) },
      };
    }
    case "aws:cloudfront/distribution:Distribution": {
      const id = `E${short(name, 13).toUpperCase()}`;
      return { id, state: { ...inputs, arn: `arn:aws:cloudfront::${MOCK_ACCOUNT}:distribution/${id}`, domainName: `d${short(name, 13)}.cloudfront.net` } };
    }
    case "aws:sesv2/emailIdentity:EmailIdentity": {
      const identity = String(inputs["emailIdentity"]);
      // A domain identity gets Easy DKIM's three tokens; an address identity none.
      const tokens = identity.includes("@") ? [] : [1, 2, 3].map((i) => short(`${identity}/${i}`, 32));
      return { id: identity, state: { ...inputs, arn: arnOf("ses", `identity/${identity}`), dkimSigningAttributes: { tokens } } };
    }
    case "aws:sesv2/configurationSet:ConfigurationSet":
      return {
        id: String(inputs["configurationSetName"]),
        state: { ...inputs, arn: arnOf("ses", `configuration-set/${String(inputs["configurationSetName"])}`) },
      };
    case "aws:cloudwatch/logGroup:LogGroup":
    case "aws:cloudwatch/eventRule:EventRule": {
      const resource = named("name");
      const arn = type.endsWith("LogGroup") ? arnOf("logs", `log-group:${resource}`) : arnOf("events", `rule/${resource}`);
      return { id: resource, state: { ...inputs, name: resource, arn } };
    }
    case "aws:sns/topic:Topic": {
      const topic = named("name");
      return { id: arnOf("sns", topic), state: { ...inputs, name: topic, arn: arnOf("sns", topic) } };
    }
    default: {
      const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
      return { id: `${name}-id`, state: { ...inputs, arn: arnOf(service, autoName) } };
    }
  }
}

function mocksFor(environment: string, region: string, resources: MockedResource[]): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      const inputs = args.inputs as Record<string, unknown>;
      const { id, state } = cognitoState(args.type, args.name, inputs, region) ?? mockState(args.type, args.name, inputs, region, environment);
      resources.push({ type: args.type, name: args.name, id, inputs: args.inputs as Record<string, unknown>, state });
      return { id, state };
    },
    call(args) {
      switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/synth`, userId: "SYNTH", id: MOCK_ACCOUNT };
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
          return {
            authorizationToken: Buffer.from("AWS:synth").toString("base64"),
            userName: "AWS",
            password: "synth",
            proxyEndpoint: `https://${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com`,
            expiresAt: "2099-01-01T00:00:00Z",
            id: region,
            region,
          };
        case "aws:index/getRegion:getRegion":
          return { name: region, region, id: region };
        default:
          throw new Error(`synth: no mock for the call ${args.token}`);
      }
    },
  };
}

type Program = () => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Resolves every Output in a value (await, not apply: errors propagate). */
async function settle(value: unknown): Promise<unknown> {
  const output = pulumi.output(value as pulumi.Input<unknown>) as unknown as { promise(): Promise<unknown> };
  return output.promise();
}

let running = false;

/**
 * Runs a program module's default export for one environment under mocks.
 * One run at a time (the Pulumi runtime is process-global).
 */
export async function runUnderMocks(options: {
  /** Imports the program module, e.g. `() => import("../../index.js")` (called after the mocks are set). */
  load: () => Promise<{ default?: unknown }>;
  environment: string;
  config: Record<string, string>;
  project?: string;
}): Promise<MockedRun> {
  if (running) throw new Error("runUnderMocks: another mocked run is in progress");
  running = true;
  try {
    const resources: MockedResource[] = [];
    const region = options.config["aws:region"] ?? "us-west-2";
    await pulumi.runtime.setMocks(mocksFor(options.environment, region, resources), options.project ?? "spaceport-ml", options.environment, false);
    pulumi.runtime.setAllConfig(options.config);
    const wait = async () => {
      const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
      if (waitForRPCs) await waitForRPCs();
    };
    let outputs: Record<string, unknown>;
    try {
      const module = await options.load();
      if (typeof module.default !== "function") throw new Error("the program module has no default export function");
      outputs = (await settle(await (module.default as Program)())) as Record<string, unknown>;
    } catch (error) {
      // Let what the failed program started settle against its own mocks, not the next run's.
      await wait().catch(() => undefined);
      throw error;
    }
    await wait();
    return { environment: options.environment, resources, outputs };
  } finally {
    running = false;
  }
}
