/** The one error type handlers throw for a client mistake: it becomes a 4xx JSON answer naming the field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The request part at fault: a body field (`input`, `options.quality`), a header, `body`, `path`. */
    readonly field: string,
    message: string,
    readonly code: string = codeFor(status),
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toJSON(): { error: { code: string; field: string; message: string } } {
    return { error: { code: this.code, field: this.field, message: this.message } };
  }
}

function codeFor(status: number): string {
  switch (status) {
    case 400: return "invalid_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 415: return "unsupported_media_type";
    case 422: return "unprocessable";
    case 429: return "rate_limited";
    default: return status >= 500 ? "unavailable" : "error";
  }
}
