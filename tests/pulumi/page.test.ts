/**
 * The page's side of the stack under mocks (prod): its routes and which function answers each,
 * the Cognito pool and public client, the JWT authorizer on /me/..., the page on CloudFront
 * (its own origin and behaviour) with a config.json that names the API and sign-in but no key,
 * the uploads bucket's CORS and lifecycle, and what the uploads, cancel and retry roles may do.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readStackConfig, runUnderMocks, type MockedResource, type MockedRun } from "../../pipeline/pulumi/mocks.js";
import type { PolicyDocument, PolicyStatement } from "../../pipeline/pulumi/policies.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let run: MockedRun;

beforeAll(async () => {
  run = await runUnderMocks({ load: () => import("../../index.js"), environment: "prod", config: readStackConfig(join(ROOT, "Pulumi.prod.yaml"), "prod") });
}, 90_000);

const ofType = (type: string) => run.resources.filter((r) => r.type === type);
const one = (type: string, name: string): MockedResource => {
  const found = ofType(type).filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0]!;
};
const statements = (policy: string): readonly PolicyStatement[] => (JSON.parse(one("aws:iam/rolePolicy:RolePolicy", policy).inputs["policy"] as string) as PolicyDocument).Statement;
const actions = (policy: string) => statements(policy).flatMap((s) => s.Action);
const resourcesOf = (policy: string, action: string) => statements(policy).filter((s) => s.Action.includes(action)).flatMap((s) => (s.Resource === "*" ? ["*"] : [...s.Resource]));

const ROUTES: Record<string, string> = {
  "POST /jobs": "start-job", "POST /start-job": "start-job",
  "GET /jobs": "job-status", "GET /jobs/{id}": "job-status", "GET /estimates": "job-status",
  "POST /uploads": "uploads", "GET /uploads/{id}": "uploads", "DELETE /uploads/{id}": "uploads", "POST /uploads/{id}/parts": "uploads", "POST /uploads/{id}/complete": "uploads",
  "POST /jobs/{id}/cancel": "cancel", "POST /jobs/{id}/retry": "retry",
};

describe("the page's stack (prod)", () => {
  test("routes: every API route behind its function; each but /start-job also under /me with the JWT authorizer", () => {
    const authorizer = one("aws:apigatewayv2/authorizer:Authorizer", "spaceport-api-users");
    const integrations = new Map(ofType("aws:apigatewayv2/integration:Integration").map((i) => [`integrations/${i.state["id"] ?? `${i.name}-id`}`, i]));
    const functionOf = (route: MockedResource) => {
      const uri = String(integrations.get(String(route.inputs["target"]))!.inputs["integrationUri"]);
      return /function:spaceport-ml-prod-([a-z-]+)\/invocations$/.exec(uri)![1];
    };
    const routes = ofType("aws:apigatewayv2/route:Route");
    const expected: Record<string, string> = { ...ROUTES };
    for (const [key, fn] of Object.entries(ROUTES)) if (key !== "POST /start-job") expected[key.replace(" /", " /me/")] = fn;
    expect(Object.fromEntries(routes.map((r) => [r.inputs["routeKey"], functionOf(r)]))).toEqual(expected);
    for (const route of routes) {
      const signedIn = String(route.inputs["routeKey"]).includes(" /me/");
      expect(route.inputs["authorizationType"]).toBe(signedIn ? "JWT" : "NONE");
      expect(route.inputs["authorizerId"]).toBe(signedIn ? authorizer.state["id"] ?? "spaceport-api-users-id" : undefined);
    }
    // Each route may invoke its function.
    const permissions = ofType("aws:lambda/permission:Permission").filter((p) => p.inputs["principal"] === "apigateway.amazonaws.com");
    expect(permissions.map((p) => String(p.inputs["sourceArn"]).slice(String(p.inputs["sourceArn"]).indexOf("/*/") + 3)).sort()).toEqual(
      Object.keys(expected).map((k) => k.replace(" ", "").replaceAll("{id}", "*")).sort(),
    );
  });

  test("sign-in: an invite-only Cognito pool, a public client (code + PKCE, no secret) for the page only; the authorizer trusts exactly it", () => {
    const pool = one("aws:cognito/userPool:UserPool", "spaceport-users");
    expect(pool.inputs).toMatchObject({ usernameAttributes: ["email"], adminCreateUserConfig: { allowAdminCreateUserOnly: true }, deletionProtection: "ACTIVE" });
    const client = one("aws:cognito/userPoolClient:UserPoolClient", "spaceport-page-client");
    const pageUrl = run.outputs["pageUrl"] as string;
    expect(pageUrl).toBe(`${run.outputs["deliveryBaseUrl"]}/app/`);
    expect(client.inputs).toMatchObject({
      generateSecret: false, allowedOauthFlows: ["code"], allowedOauthFlowsUserPoolClient: true, allowedOauthScopes: ["openid", "email"],
      callbackUrls: [pageUrl], logoutUrls: [pageUrl], supportedIdentityProviders: ["COGNITO"],
    });
    expect(client.inputs["explicitAuthFlows"]).not.toContain("ALLOW_USER_PASSWORD_AUTH");
    const authorizer = one("aws:apigatewayv2/authorizer:Authorizer", "spaceport-api-users");
    expect(authorizer.inputs).toMatchObject({
      authorizerType: "JWT",
      identitySources: ["$request.header.Authorization"],
      jwtConfiguration: { issuer: `https://cognito-idp.us-west-2.amazonaws.com/${run.outputs["userPoolId"]}`, audiences: [run.outputs["pageClientId"]] },
    });
    expect(one("aws:cognito/userPoolDomain:UserPoolDomain", "spaceport-sign-in").inputs["domain"]).toBe("spaceport-ml-prod-123456789012");
  });

  test("the page: its own origin and /app/* behaviour on the delivery distribution; config.json names the API's /me and the sign-in, never a key", () => {
    const distribution = one("aws:cloudfront/distribution:Distribution", "spaceport-deliveries");
    const pageBucket = one("aws:s3/bucket:Bucket", "spaceport-page");
    const origins = distribution.inputs["origins"] as { originId: string; domainName: string; originAccessControlId: string }[];
    expect(origins.find((o) => o.originId === "page")).toMatchObject({ domainName: pageBucket.state["bucketRegionalDomainName"] });
    const behaviors = distribution.inputs["orderedCacheBehaviors"] as { pathPattern: string; targetOriginId: string; functionAssociations: { eventType: string }[] }[];
    expect(behaviors[0]).toMatchObject({ pathPattern: "/app/*", targetOriginId: "page", functionAssociations: [{ eventType: "viewer-request" }] });
    const policy = JSON.parse(one("aws:s3/bucketPolicy:BucketPolicy", "spaceport-page-policy").inputs["policy"] as string) as PolicyDocument;
    const read = policy.Statement.find((s) => s.Effect === "Allow")!;
    expect(read).toMatchObject({ Principal: { Service: "cloudfront.amazonaws.com" }, Action: ["s3:GetObject"], Resource: [`${pageBucket.state["arn"]}/app/*`] });
    expect(read.Condition).toEqual({ StringEquals: { "AWS:SourceArn": distribution.state["arn"] } });

    const objects = ofType("aws:s3/bucketObjectv2:BucketObjectv2");
    expect(objects.map((o) => o.inputs["key"]).sort()).toEqual(["app/app.js", "app/config.json", "app/index.html"]);
    const config = JSON.parse(String(objects.find((o) => o.inputs["key"] === "app/config.json")!.inputs["content"]));
    expect(config).toEqual({
      api: `${run.outputs["apiUrl"]}/me`,
      auth: { kind: "cognito", domain: run.outputs["signInUrl"], clientId: run.outputs["pageClientId"], redirectUri: run.outputs["pageUrl"] },
    });
    // No API key in any file (keys look like sp_<43 characters>; config.json's auth has no key field, checked above).
    for (const o of objects) expect(String(o.inputs["content"])).not.toMatch(/sp_[A-Za-z0-9_-]{20,}/);
  });

  test("uploads bucket: the page's origin may PUT parts and read ETag; unfinished multipart uploads are aborted after a day", () => {
    const cors = one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "spaceport-uploads-cors").inputs["corsRules"] as { allowedOrigins: string[]; allowedMethods: string[]; exposeHeaders: string[] }[];
    expect(cors[0]!.allowedOrigins).toContain(run.outputs["deliveryBaseUrl"]);
    expect(cors[0]!.allowedMethods).toContain("PUT");
    expect(cors[0]!.exposeHeaders).toContain("ETag");
    const rules = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "spaceport-uploads-lifecycle").inputs["rules"] as { abortIncompleteMultipartUpload?: { daysAfterInitiation: number } }[];
    expect(rules.find((r) => r.abortIncompleteMultipartUpload)!.abortIncompleteMultipartUpload).toEqual({ daysAfterInitiation: 1 });
    const api = one("aws:apigatewayv2/api:Api", "spaceport-api").inputs["corsConfiguration"] as { allowOrigins: string[]; allowMethods: string[] };
    expect(api.allowOrigins).toContain(run.outputs["deliveryBaseUrl"]);
    expect(api.allowMethods).toContain("DELETE");
  });

  test("least privilege: uploads only in its prefix, cancel only stops, retry only redrives, start-job neither", () => {
    const uploads = run.outputs["uploadsBucket"] as string;
    const processing = run.outputs["processingBucket"] as string;
    const executions = `${String(run.outputs["stateMachineArn"]).replace(":stateMachine:", ":execution:")}:*`;
    for (const action of ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]) {
      expect(resourcesOf("spaceport-uploads-policy", action).filter((r) => !r.includes(processing))).toEqual([`arn:aws:s3:::${uploads}/uploads/*`]);
    }
    expect(resourcesOf("spaceport-uploads-policy", "s3:GetObject")).toEqual([`arn:aws:s3:::${processing}/uploads/*`]);
    expect(actions("spaceport-uploads-policy").filter((a) => a.startsWith("states:") || a.startsWith("sagemaker:"))).toEqual([]);

    expect(resourcesOf("spaceport-cancel-policy", "states:StopExecution")).toEqual([executions]);
    const stop = statements("spaceport-cancel-policy").find((s) => s.Action.includes("sagemaker:StopTrainingJob"))!;
    expect([...stop.Action].sort()).toEqual(["sagemaker:StopProcessingJob", "sagemaker:StopTrainingJob"]);
    expect(stop.Resource).toEqual([
      "arn:aws:sagemaker:us-west-2:123456789012:processing-job/????????-??????-????????-sfm-*",
      "arn:aws:sagemaker:us-west-2:123456789012:training-job/????????-??????-????????-gaussian-splatting-*",
      "arn:aws:sagemaker:us-west-2:123456789012:processing-job/????????-??????-????????-compressor-*",
    ]);
    expect(stop.Condition).toEqual({ StringEquals: { "aws:ResourceTag/spaceport:environment": "prod" } });
    expect(actions("spaceport-cancel-policy")).not.toContain("states:RedriveExecution");
    expect(resourcesOf("spaceport-retry-policy", "states:RedriveExecution")).toEqual([executions]);
    expect(actions("spaceport-retry-policy").filter((a) => a.includes("Stop") || a.startsWith("ses:") || a === "s3:PutObject")).toEqual([]);
    for (const other of ["spaceport-start-job-policy", "spaceport-job-status-policy", "spaceport-notify-policy"]) {
      expect(actions(other).filter((a) => ["states:StopExecution", "states:RedriveExecution", "sagemaker:StopTrainingJob", "sagemaker:StopProcessingJob", "s3:AbortMultipartUpload"].includes(a))).toEqual([]);
    }
  });
});
