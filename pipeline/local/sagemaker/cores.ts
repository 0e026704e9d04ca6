/**
 * This machine's CPU cores, granted to stage processes as SageMaker grants an instance's vCPUs.
 * Why: each stage program sizes its thread pools (PyTorch, OpenMP, COLMAP) from the cores it
 * sees, so two stages started side by side on two cores each ran about eight times slower.
 * A stage is granted at most its instance type's vCPUs and never more than are free, and
 * learns its share through the standard thread-count variables (`threadEnvironment`). Stages
 * waiting for a core are served first come, first served.
 */
import { availableParallelism } from "node:os";

export interface CoreGrant {
  readonly cores: number;
  /** Gives the cores back; calling it again does nothing. */
  release(): void;
}

interface Waiter {
  readonly want: number;
  readonly grant: (grant: CoreGrant) => void;
}

export class CorePool {
  private free: number;
  private readonly queue: Waiter[] = [];

  /** `total`: the cores stage processes may use together (default: all of this machine's). */
  constructor(readonly total: number = availableParallelism()) {
    if (!Number.isInteger(total) || total < 1) throw new Error(`a core pool needs at least one core, got ${total}`);
    this.free = total;
  }

  /** Cores in use by granted stages. */
  get inUse(): number {
    return this.total - this.free;
  }

  /** Stages waiting for a core. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves once at least one core is free and every earlier request was served, with
   * min(want, free) cores. `want` is the instance's vCPUs. `borrow`: with no core free, one
   * core is shared at once instead (oversubscribed; a preview's run).
   */
  acquire(want: number, options: { borrow?: boolean } = {}): Promise<CoreGrant> {
    if (!Number.isInteger(want) || want < 1) throw new Error(`a stage wants at least one core, got ${want}`);
    // A preview is worth something only while the stage it previews still runs: on AWS it has an
    // instance of its own, here it shares one core with what runs rather than wait for its end.
    if (options.borrow && (this.free === 0 || this.queue.length > 0)) return Promise.resolve({ cores: 1, release: () => undefined });
    return new Promise((grant) => {
      this.queue.push({ want, grant });
      this.serve();
    });
  }

  private serve(): void {
    while (this.queue.length > 0 && this.free > 0) {
      const next = this.queue.shift()!;
      const cores = Math.min(next.want, this.free);
      this.free -= cores;
      let released = false;
      next.grant({
        cores,
        release: () => {
          if (released) return;
          released = true;
          this.free += cores;
          this.serve();
        },
      });
    }
  }
}

/**
 * What a stage process reads its thread count from: the OpenMP/BLAS variables PyTorch and
 * NumPy honour, and SPACEPORT_CPUS for programs that size pools themselves (COLMAP).
 */
export function threadEnvironment(cores: number): Record<string, string> {
  const n = String(cores);
  return { SPACEPORT_CPUS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
}
