/** The page's client of the job API: one fetch wrapper that adds the credential and turns error answers into messages. */
export interface ApiConfig {
  /** API base URL, no trailing slash. */
  readonly api: string;
  /** How the page authenticates: the local key from `spaceport dev`, or a Cognito ID token on AWS. */
  readonly auth: { readonly kind: "local-key"; readonly key: string } | { readonly kind: "bearer"; readonly token: () => Promise<string> };
}

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly field: string, message: string) {
    super(message);
    this.name = "ApiFailure";
  }
}

export async function call<T>(config: ApiConfig, method: string, path: string, body?: unknown): Promise<T> {
  const token = config.auth.kind === "local-key" ? config.auth.key : await config.auth.token();
  const response = await fetch(`${config.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (data as { error?: { field?: string; message?: string } } | undefined)?.error;
    throw new ApiFailure(response.status, error?.field ?? "", error?.message ?? `the API answered ${response.status}`);
  }
  return data as T;
}
