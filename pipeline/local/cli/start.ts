/**
 * What `dev` and `run` share: the runtime options, the pipeline and config they name, and
 * starting the local services with them. The pipeline defaults to the one the composition
 * root passes (`CliRoot`), the handlers always come from it.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Handlers } from "../../../functions/handlers.js";
import { jsonLogger } from "../../../functions/log.js";
import type { ExecutionEvent } from "../../../functions/ports.js";
import type { Pipeline } from "../../define.js";
import { readStackConfigFile } from "../../environment.js";
import { resolveDataDir } from "../data.js";
import { REPO_ROOT } from "../runtime.js";
import { startLocalServices, type LocalServices } from "../services.js";
import { localTarget, readEnvironment, readTargetFile } from "../target.js";
import type { StageSummary } from "./output.js";
import { UsageError } from "./help.js";
import { COMMANDS } from "./usage.mjs";

/** What the composition root gives the command: its pipeline, the handlers, and what a job's summary shows. */
export interface CliRoot {
  readonly pipeline: Pipeline;
  readonly handlers: Handlers;
  /** Figures from the stages' own reports for the summary (photos used, quality, sizes); none by default. */
  readonly summary?: StageSummary;
}

export const runtimeOptions = COMMANDS.dev.options;

export interface RuntimeValues {
  readonly "data-dir"?: string | undefined;
  readonly env?: string | undefined;
  readonly docker?: boolean | undefined;
  readonly pipeline?: string | undefined;
  readonly config?: string | undefined;
  readonly target?: string | undefined;
}

async function loadPipeline(spec: string | undefined): Promise<Pipeline | undefined> {
  if (!spec) return undefined;
  const [file, name] = spec.split("#") as [string, string | undefined];
  const path = isAbsolute(file) ? file : resolve(process.cwd(), file);
  if (!existsSync(path)) throw new UsageError(`--pipeline: no file ${path}`);
  const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const candidates = name ? [module[name]] : [module["default"], module["pipeline"], ...Object.values(module)];
  const pipeline = candidates.find((c): c is Pipeline => !!c && typeof c === "object" && Array.isArray((c as Pipeline).stages) && "delivery" in (c as object));
  if (!pipeline) throw new UsageError(`--pipeline: ${spec} exports no pipeline${name ? ` named "${name}"` : ""} (make one with definePipeline)`);
  return pipeline;
}

export interface StartExtras {
  readonly log?: boolean;
  readonly onEvent?: (execution: string, event: ExecutionEvent) => void;
}

export async function startServices(values: RuntimeValues, port: number, root: CliRoot, extra: StartExtras = {}): Promise<LocalServices> {
  const deployed = values.target ? readTargetFile(resolve(process.cwd(), values.target)) : undefined;
  const environment = deployed?.environment ?? values.env ?? "prod";
  const pipeline = (await loadPipeline(values.pipeline)) ?? root.pipeline;
  const config = values.config ? readStackConfigFile(resolve(process.cwd(), values.config), environment) : readEnvironment(REPO_ROOT, environment);
  return startLocalServices({
    dataDir: resolveDataDir(values["data-dir"]),
    environment,
    port,
    pipeline,
    handlers: root.handlers,
    config,
    ...(deployed ? { target: localTarget(environment, config, pipeline, deployed.names) } : {}),
    ...(values.docker ? { docker: true } : {}),
    ...(extra.log ? { log: jsonLogger() } : {}),
    ...(extra.onEvent ? { onEvent: extra.onEvent } : {}),
  });
}

/** Resolves when Ctrl-C or SIGTERM arrives. */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}
