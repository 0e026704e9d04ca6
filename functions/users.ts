/**
 * The page's users on AWS: people signed in with the stack's Cognito user pool. API Gateway's
 * JWT authorizer checks their ID token on the `/me/...` routes and hands the verified claims to
 * the function (`requestContext.authorizer.jwt.claims`), which no caller can set. Such a request
 * is the client `user-<sub>`: the same per-client rules as API keys (own jobs and uploads only,
 * rate limits, the daily job quota). `/me/<route>` is `<route>` for a signed-in user; without
 * verified claims it is a 401, so a key never works there and a token never works elsewhere.
 */
import { ApiError } from "./errors.js";

export const USER_PREFIX = "/me/";

export interface VerifiedUser {
  /** Cognito's `sub`: stable, unique in the pool. */
  readonly sub: string;
}

const SUB = /^[A-Za-z0-9-]{1,64}$/;

/** The client name of a verified user, or a 401 when the gateway verified nobody. */
export function userClient(user: VerifiedUser | undefined): string {
  if (!user || !SUB.test(user.sub)) {
    throw new ApiError(401, "Authorization", "sign in first: this route takes the ID token of the page's sign-in", "unauthorized", {
      "www-authenticate": 'Bearer realm="spaceport"',
    });
  }
  return `user-${user.sub}`;
}

/** The verified claims API Gateway (payload 2.0) attaches after its JWT authorizer. */
export function verifiedUser(event: { requestContext?: { authorizer?: { jwt?: { claims?: Record<string, unknown> } } } }): VerifiedUser | undefined {
  const sub = event.requestContext?.authorizer?.jwt?.claims?.["sub"];
  return typeof sub === "string" ? { sub } : undefined;
}
