import { CorePool, threadEnvironment } from "../../pipeline/local/sagemaker/cores.js";

describe("core pool", () => {
  it("grants at most what is wanted and what is free, then queues first come, first served", async () => {
    const pool = new CorePool(2);
    const a = await pool.acquire(8);
    expect(a.cores).toBe(2);
    const order: string[] = [];
    const b = pool.acquire(1).then((g) => { order.push("b"); return g; });
    const c = pool.acquire(4).then((g) => { order.push("c"); return g; });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    expect(pool.waiting).toBe(2);
    a.release();
    a.release(); // a second release gives nothing back twice
    const [gb, gc] = await Promise.all([b, c]);
    expect(order).toEqual(["b", "c"]);
    expect([gb.cores, gc.cores]).toEqual([1, 1]);
    expect(pool.inUse).toBe(2);
    gb.release();
    gc.release();
    expect(pool.inUse).toBe(0);
  });

  it("a later small request does not jump an earlier waiting one", async () => {
    const pool = new CorePool(2);
    const first = await pool.acquire(1);
    const big = pool.acquire(2);
    const small = pool.acquire(1);
    const served: string[] = [];
    void big.then(() => served.push("big"));
    void small.then(() => served.push("small"));
    await new Promise((r) => setTimeout(r, 10));
    // One core is free, and the first waiter takes it; the small one waits its turn.
    expect(served).toEqual(["big"]);
    first.release();
    await small;
    expect(served).toEqual(["big", "small"]);
  });

  it("refuses nonsense sizes, naming them", () => {
    expect(() => new CorePool(0)).toThrow("at least one core, got 0");
    expect(() => new CorePool(2).acquire(0)).toThrow("at least one core, got 0");
  });

  it("tells the stage its share in the variables PyTorch, OpenMP, BLAS and COLMAP read", () => {
    expect(threadEnvironment(3)).toEqual({ SPACEPORT_CPUS: "3", OMP_NUM_THREADS: "3", MKL_NUM_THREADS: "3", OPENBLAS_NUM_THREADS: "3" });
  });
});
