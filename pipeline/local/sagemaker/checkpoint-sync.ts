/**
 * SageMaker copies a training job's `/opt/ml/checkpoints` to CheckpointConfig.S3Uri while the
 * job runs, not only at its end: spot resumes from it, and a stage's early outputs appear there
 * for the state machine to find. Here a bounded periodic copy of new or changed files does the
 * same; each file lands in the bucket under a temporary name and is then renamed, so a reader
 * never sees half a file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { DataDir } from "../data.js";

/** How often the running job's checkpoint folder is copied (SageMaker's is continuous). */
export const CHECKPOINT_SYNC_MS = 1000;
/** At most this many files a pass: a job that writes thousands is copied over several passes. */
const MAX_FILES_PER_PASS = 200;

export class CheckpointSync {
  private readonly copied = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly data: DataDir,
    private readonly source: string,
    private readonly uri: string,
  ) {}

  start(intervalMs = CHECKPOINT_SYNC_MS): this {
    this.timer = setInterval(() => this.pass(), intervalMs);
    this.timer.unref();
    return this;
  }

  /** Stops the timer and copies what is left (the job's end). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.pass() === MAX_FILES_PER_PASS);
  }

  /** One bounded pass: copies new or changed files; answers how many it copied. */
  pass(): number {
    if (!existsSync(this.source)) return 0;
    const target = this.data.uriToPath(this.uri.endsWith("/") ? this.uri : `${this.uri}/`);
    let count = 0;
    for (const file of listFiles(this.source)) {
      if (count === MAX_FILES_PER_PASS) break;
      let stamp: string;
      try {
        const stat = statSync(file);
        stamp = `${stat.size}:${stat.mtimeMs}`;
      } catch {
        continue; // renamed or removed by the stage since the listing
      }
      if (this.copied.get(file) === stamp) continue;
      const dest = join(target, relative(this.source, file));
      const temporary = `${dest}.sync-${process.pid}.tmp`;
      try {
        mkdirSync(dirname(dest), { recursive: true });
        copyFileSync(file, temporary);
        renameSync(temporary, dest);
      } catch {
        continue; // the stage replaced it mid-copy: the next pass takes the new one
      }
      this.copied.set(file, stamp);
      count++;
    }
    return count;
  }
}

/** Files under `dir`, oldest first (a completion marker written last is copied last), temporary files left out. */
function listFiles(dir: string): string[] {
  const files: { path: string; mtime: number }[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !entry.name.endsWith(".tmp")) {
        try {
          files.push({ path, mtime: statSync(path).mtimeMs });
        } catch {
          // gone since the listing
        }
      }
    }
  };
  walk(dir);
  return files.sort((a, b) => a.mtime - b.mtime).map((f) => f.path);
}
