/**
 * Sign-in on AWS with the stack's Cognito user pool through its hosted UI: authorization code
 * with PKCE for a public client (no client secret exists, so none can be in the page). The ID
 * token is kept in sessionStorage and sent as `Authorization: Bearer`; API Gateway's JWT
 * authorizer checks it on the `/me/...` routes. When it has expired the page signs in again.
 */
export interface CognitoConfig {
  /** Hosted UI base, `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly domain: string;
  readonly clientId: string;
  /** This page's URL, registered as the client's callback URL. */
  readonly redirectUri: string;
}

const TOKEN = "spaceport.idToken";
const VERIFIER = "spaceport.pkce";

const base64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** The ID token, after finishing a redirect from the hosted UI if this load is one; else undefined. */
export async function signedIn(config: CognitoConfig): Promise<string | undefined> {
  const code = new URLSearchParams(location.search).get("code");
  const verifier = sessionStorage.getItem(VERIFIER);
  if (code && verifier) {
    sessionStorage.removeItem(VERIFIER);
    const response = await fetch(`${config.domain}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: config.clientId, code, redirect_uri: config.redirectUri, code_verifier: verifier }),
    });
    if (!response.ok) throw new Error(`sign-in failed (${response.status})`);
    const { id_token } = (await response.json()) as { id_token: string };
    sessionStorage.setItem(TOKEN, id_token);
    history.replaceState(null, "", config.redirectUri + location.hash);
  }
  const token = sessionStorage.getItem(TOKEN);
  return token && !expired(token) ? token : undefined;
}

/** Off to the hosted UI; it comes back to `redirectUri?code=…`. */
export async function signIn(config: CognitoConfig): Promise<never> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(VERIFIER, verifier);
  const query = new URLSearchParams({ response_type: "code", client_id: config.clientId, redirect_uri: config.redirectUri, scope: "openid email", code_challenge_method: "S256", code_challenge: challenge });
  location.assign(`${config.domain}/oauth2/authorize?${query}`);
  return new Promise<never>(() => {});
}

function expired(token: string): boolean {
  try {
    const claims = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: number };
    return !claims.exp || claims.exp * 1000 < Date.now() + 60_000;
  } catch {
    return true;
  }
}
