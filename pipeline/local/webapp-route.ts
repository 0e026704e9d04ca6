/**
 * The operator's page on the local server: `/` → `/app/`, the page's files (built once with
 * esbuild), and `/app/config.json`, which gives the page the local API key. Only to requests
 * addressed to this loopback server (Host 127.0.0.1:<port> or localhost:<port>), so a web page
 * elsewhere cannot read it through DNS rebinding; the built files themselves hold no key.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildWebApp, type WebAppFiles } from "../../webapp/build.js";

export function webAppRoute(options: { port: () => number; apiKey: string }) {
  let files: WebAppFiles | undefined;
  const types: Record<string, string> = { "index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8" };
  return function serve(pathname: string, req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    if (pathname === "/" || pathname === "/app") {
      res.writeHead(302, { location: "/app/" }).end();
      return true;
    }
    if (!pathname.startsWith("/app/")) return false;
    const name = pathname.slice("/app/".length) || "index.html";
    const host = (req.headers.host ?? "").toLowerCase();
    const port = options.port();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      res.writeHead(421, { "content-type": "text/plain; charset=utf-8" }).end("this server answers only as 127.0.0.1 or localhost\n");
      return true;
    }
    if (name === "config.json") {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(JSON.stringify({ api: "", auth: { kind: "local-key", key: options.apiKey } }));
      return true;
    }
    if (name !== "index.html" && name !== "app.js") return false;
    files ??= buildWebApp();
    res.writeHead(200, { "content-type": types[name]!, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : files[name]);
    return true;
  };
}
