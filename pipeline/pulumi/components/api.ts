/**
 * `JobApi`: the HTTP API (API Gateway v2) in front of the API functions, with whole-API
 * throttling and access logs, served through CloudFront with a WAF rule limiting each source
 * IP (waf.ts). The API exists first (the functions' links use its URL); `route` then puts a
 * function behind each route. Auth: on the plain routes the handlers' API-key check
 * (functions/auth.ts, the same code as the local runtime) for machine clients; on the `/me/...`
 * routes API Gateway's JWT authorizer (`signIn`: the page's Cognito client), whose verified
 * claims the handlers read (functions/users.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { apiFrontDoor } from "../waf.js";
import { childOptions, transformed, type ComponentContext, type Transform } from "./component.js";

export interface JobApiArgs {
  readonly context: ComponentContext;
  /** Origins allowed to call the API from a browser (the page's among them). */
  readonly corsOrigins: pulumi.Input<readonly string[]>;
  /** The page's sign-in: the JWT authorizer of the `/me/...` routes accepts its client's tokens only. */
  readonly signIn: { readonly issuer: pulumi.Input<string>; readonly clientId: pulumi.Input<string> };
  /**
   * `ratePerSecond`: per source IP, by WAF in front of the API; `totalRatePerSecond`/`totalBurst`:
   * API Gateway stage throttling of all callers together (environment.ts `apiRateLimit`).
   */
  readonly rateLimit: { readonly ratePerSecond: number; readonly totalRatePerSecond: number; readonly totalBurst: number };
  /** Days CloudWatch keeps the access logs. */
  readonly logRetentionDays: number;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    readonly api?: Transform<aws.apigatewayv2.ApiArgs>;
    readonly stage?: Transform<aws.apigatewayv2.StageArgs>;
  };
}

/** `POST /jobs` → a function; `id` names its resources. */
export interface ApiRoute {
  readonly key: string;
  readonly id: string;
  readonly fn: aws.lambda.Function;
  /** Names the function's integration (one per function, shared by its routes). */
  readonly integrationId: string;
  /** `jwt`: the route takes a signed-in user's ID token (the `/me/...` routes); default: the handler checks an API key. */
  readonly auth?: "jwt";
}

export class JobApi extends pulumi.ComponentResource {
  readonly api: aws.apigatewayv2.Api;
  readonly apiUrl: pulumi.Output<string>;
  /** Checks the page's Cognito tokens on the `/me/...` routes. */
  readonly authorizer: aws.apigatewayv2.Authorizer;
  private readonly integrations = new Map<aws.lambda.Function, aws.apigatewayv2.Integration>();

  constructor(name: string, private readonly args: JobApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobApi", name, {}, opts);
    const { name: base, prefix, tags } = args.context;
    const child = () => childOptions(this, args.formerParent);
    this.api = new aws.apigatewayv2.Api(
      ...transformed(
        `${base}-api`,
        {
          protocolType: "HTTP",
          description: `${prefix} job API`,
          corsConfiguration: {
            allowOrigins: pulumi.output(args.corsOrigins).apply((o) => [...o]),
            allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
            allowHeaders: ["content-type", "authorization", "x-api-key", "idempotency-key"],
            // API Gateway answers CORS itself (the integration's headers are ignored): what a browser may read.
            exposeHeaders: ["location", "retry-after", "x-request-id", "idempotent-replayed"],
            maxAge: 3600,
          },
          tags,
        },
        child(),
        args.transform?.api,
      ),
    );
    // Clients call the API through CloudFront, whose WAF rule limits each source IP.
    this.apiUrl = apiFrontDoor(base, { prefix, apiEndpoint: this.api.apiEndpoint, ratePerSecond: args.rateLimit.ratePerSecond, tags: { ...tags } }, child()).url;
    this.authorizer = new aws.apigatewayv2.Authorizer(
      `${base}-api-users`,
      {
        apiId: this.api.id,
        name: `${prefix}-users`,
        authorizerType: "JWT",
        identitySources: ["$request.header.Authorization"],
        jwtConfiguration: { issuer: args.signIn.issuer, audiences: [args.signIn.clientId] },
      },
      child(),
    );
    this.stage();
    this.registerOutputs({ apiUrl: this.apiUrl });
  }

  /** Puts a function behind a route: its integration (once per function), the route, the invoke permission. */
  route(route: ApiRoute): void {
    const { name } = this.args.context;
    const child = () => childOptions(this, this.args.formerParent);
    let integration = this.integrations.get(route.fn);
    if (!integration) {
      integration = new aws.apigatewayv2.Integration(
        `${name}-${route.integrationId}-integration`,
        { apiId: this.api.id, integrationType: "AWS_PROXY", integrationUri: route.fn.invokeArn, payloadFormatVersion: "2.0", timeoutMilliseconds: 30_000 },
        child(),
      );
      this.integrations.set(route.fn, integration);
    }
    new aws.apigatewayv2.Route(
      `${name}-${route.id}`,
      {
        apiId: this.api.id,
        routeKey: route.key,
        target: pulumi.interpolate`integrations/${integration.id}`,
        ...(route.auth === "jwt" ? { authorizationType: "JWT", authorizerId: this.authorizer.id } : { authorizationType: "NONE" }),
      },
      child(),
    );
    const [method, path] = route.key.split(" ") as [string, string];
    new aws.lambda.Permission(
      `${name}-${route.id}-invoke`,
      { action: "lambda:InvokeFunction", function: route.fn.name, principal: "apigateway.amazonaws.com", sourceArn: pulumi.interpolate`${this.api.executionArn}/*/${method}${path.replaceAll("{id}", "*")}` },
      child(),
    );
  }

  /** The `$default` stage: auto-deployed, throttled, access-logged without bodies or headers. */
  private stage(): void {
    const { args } = this;
    const { name, prefix, tags } = args.context;
    const child = () => childOptions(this, args.formerParent);
    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-api-logs`, { name: `/aws/apigateway/${prefix}`, retentionInDays: args.logRetentionDays, tags }, child());
    const stageArgs: aws.apigatewayv2.StageArgs = {
      apiId: this.api.id,
      name: "$default",
      autoDeploy: true,
      // All callers together: a ceiling protecting the functions. Per client: WAF per source IP
      // (waf.ts), the handlers per API key (functions/rate-limit.ts), jobs per day (start-job).
      defaultRouteSettings: { throttlingRateLimit: args.rateLimit.totalRatePerSecond, throttlingBurstLimit: args.rateLimit.totalBurst },
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        // No bodies, no headers: nothing personal in access logs.
        format: JSON.stringify({
          requestId: "$context.requestId",
          ip: "$context.identity.sourceIp",
          time: "$context.requestTime",
          route: "$context.routeKey",
          status: "$context.status",
          latency: "$context.responseLatency",
          integrationError: "$context.integrationErrorMessage",
        }),
      },
      tags,
    };
    new aws.apigatewayv2.Stage(...transformed(`${name}-api-stage`, stageArgs, child(), args.transform?.stage));
  }
}
