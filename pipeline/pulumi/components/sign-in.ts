/**
 * `JobSignIn`: how the page's users sign in on AWS. A Cognito user pool (email as the user
 * name; operators are invited by an administrator, no self sign-up, since a signed-in user can
 * start GPU jobs), its hosted UI on a Cognito domain, and one public app client for the page:
 * authorization code with PKCE, no client secret (none could be kept in a page anyone loads).
 * API Gateway's JWT authorizer (components/api.ts) accepts this client's tokens on `/me/...`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsContext } from "../policies.js";
import { childOptions, transformed, type ComponentContext, type Transform } from "./component.js";

export interface JobSignInArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  /** The page's URL (`https://<distribution>/app/`): the client's only callback and sign-out URL. */
  readonly pageUrl: pulumi.Input<string>;
  /** Minutes an ID token is valid (default 60): the page signs in again after that. */
  readonly idTokenMinutes?: number;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    readonly userPool?: Transform<aws.cognito.UserPoolArgs>;
    readonly client?: Transform<aws.cognito.UserPoolClientArgs>;
  };
}

export class JobSignIn extends pulumi.ComponentResource {
  readonly userPool: aws.cognito.UserPool;
  readonly client: aws.cognito.UserPoolClient;
  readonly domain: aws.cognito.UserPoolDomain;
  /** `https://<prefix>.auth.<region>.amazoncognito.com`: the hosted UI and token endpoint. */
  readonly hostedUiUrl: pulumi.Output<string>;
  /** What the JWT authorizer checks tokens against (`iss`). */
  readonly issuer: pulumi.Output<string>;

  constructor(name: string, args: JobSignInArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobSignIn", name, {}, opts);
    const { name: base, prefix, tags } = args.context;
    const child = () => childOptions(this, args.formerParent);
    const poolArgs: aws.cognito.UserPoolArgs = {
      name: prefix,
      usernameAttributes: ["email"],
      autoVerifiedAttributes: ["email"],
      adminCreateUserConfig: { allowAdminCreateUserOnly: true },
      passwordPolicy: { minimumLength: 12, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: false, temporaryPasswordValidityDays: 7 },
      mfaConfiguration: "OPTIONAL",
      softwareTokenMfaConfiguration: { enabled: true },
      accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
      deletionProtection: "ACTIVE",
      tags,
    };
    this.userPool = new aws.cognito.UserPool(...transformed(`${base}-users`, poolArgs, child(), args.transform?.userPool));
    const minutes = args.idTokenMinutes ?? 60;
    const clientArgs: aws.cognito.UserPoolClientArgs = {
      name: `${prefix}-page`,
      userPoolId: this.userPool.id,
      generateSecret: false,
      allowedOauthFlowsUserPoolClient: true,
      allowedOauthFlows: ["code"],
      allowedOauthScopes: ["openid", "email"],
      supportedIdentityProviders: ["COGNITO"],
      callbackUrls: [args.pageUrl],
      logoutUrls: [args.pageUrl],
      explicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      preventUserExistenceErrors: "ENABLED",
      enableTokenRevocation: true,
      idTokenValidity: minutes,
      accessTokenValidity: minutes,
      refreshTokenValidity: 30,
      tokenValidityUnits: { idToken: "minutes", accessToken: "minutes", refreshToken: "days" },
    };
    this.client = new aws.cognito.UserPoolClient(...transformed(`${base}-page-client`, clientArgs, child(), args.transform?.client));
    // Cognito domain prefixes are global: the account id makes this one the stack's own.
    const domainPrefix = args.aws.apply((c) => `${prefix}-${c.accountId}`.toLowerCase());
    this.domain = new aws.cognito.UserPoolDomain(`${base}-sign-in`, { domain: domainPrefix, userPoolId: this.userPool.id }, child());
    this.hostedUiUrl = pulumi.interpolate`https://${this.domain.domain}.auth.${args.aws.apply((c) => c.region)}.amazoncognito.com`;
    this.issuer = pulumi.interpolate`https://cognito-idp.${args.aws.apply((c) => c.region)}.amazonaws.com/${this.userPool.id}`;
    this.registerOutputs({ userPoolId: this.userPool.id, clientId: this.client.id, hostedUiUrl: this.hostedUiUrl });
  }
}
