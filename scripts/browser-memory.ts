// Resident memory of a browser's processes, read from /proc (Linux): what the benchmarks that
// drive headless Chromium report as its memory.
import { readdirSync, readFileSync } from "node:fs";
import type { CDPSession } from "playwright-core";

/** Resident memory (bytes) of every process below `root`, and of the renderer among them. */
export function browserMemory(root: number): { all: number; renderer: number } {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  let all = 0;
  let renderer = 0;
  for (const pid of parent.keys()) {
    if (!below(pid)) continue;
    try {
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
      all += rss;
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) renderer = Math.max(renderer, rss);
    } catch {
      // the process ended meanwhile
    }
  }
  return { all, renderer };
}

export type MemoryPeaks = { jsHeap: number; browser: number; renderer: number; server: number };

/** Samples every `intervalMs` until `stop()`: the page's JS heap (CDP Performance metrics, enabled
 *  here), the browser's processes (all below this one) and this process; answers the peaks. */
export async function sampleMemory(cdp: CDPSession, intervalMs: number): Promise<{ stop: () => Promise<MemoryPeaks> }> {
  await cdp.send("Performance.enable");
  const peaks: MemoryPeaks = { jsHeap: 0, browser: 0, renderer: 0, server: 0 };
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const { metrics } = (await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] };
      peaks.jsHeap = Math.max(peaks.jsHeap, metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0);
      const memory = browserMemory(process.pid);
      peaks.browser = Math.max(peaks.browser, memory.all);
      peaks.renderer = Math.max(peaks.renderer, memory.renderer);
      peaks.server = Math.max(peaks.server, process.memoryUsage().rss);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return { stop: async () => { sampling = false; await loop; return peaks; } };
}
