import { describe, expect, it } from "@jest/globals";
import { clientJobKey, JOB_LIST_LIMIT } from "../../functions/job-list/handler.js";
import { harness, KEYS, PROCESSING, validBody } from "./helpers.js";

describe("GET /jobs: the caller's own jobs", () => {
  it("lists the jobs this client submitted, newest first, and none of another client's", async () => {
    const h = harness();
    const first = await h.call({ json: validBody });
    h.clock.now += 60_000;
    const second = await h.call({ json: { ...validBody, email: "other@example.com" } });
    expect([first.status, second.status]).toEqual([202, 202]);
    const scripts = await h.call({ json: validBody, headers: { authorization: `Bearer ${KEYS.scripts}` } });
    expect(scripts.status).toBe(202);

    const list = await h.call({ method: "GET", path: "/jobs" });
    expect(list.status).toBe(200);
    expect(list.data.jobs).toEqual([
      { jobId: second.data.jobId, submittedAt: "2026-11-26T09:31:12Z" },
      { jobId: first.data.jobId, submittedAt: "2026-11-26T09:30:12Z" },
    ]);
    const theirs = await h.call({ method: "GET", path: "/jobs", headers: { authorization: `Bearer ${KEYS.scripts}` } });
    expect(theirs.data.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([scripts.data.jobId]);
    // The index entry is where the stack's IAM and lifecycle rule expect it.
    expect(h.store.objects.has(`${PROCESSING}/${clientJobKey("website", first.data.jobId)}`)).toBe(true);
  });

  it("a replayed request adds no second entry; no key is a 401; at most JOB_LIST_LIMIT jobs", async () => {
    const h = harness();
    await h.call({ json: validBody, headers: { "idempotency-key": "same" } });
    await h.call({ json: validBody, headers: { "idempotency-key": "same" } });
    expect((await h.call({ method: "GET", path: "/jobs" })).data.jobs).toHaveLength(1);
    expect((await h.call({ method: "GET", path: "/jobs", headers: { authorization: undefined } })).status).toBe(401);
    for (let i = 0; i < JOB_LIST_LIMIT + 2; i++) h.store.add(PROCESSING, clientJobKey("website", `20261126-0930${String(i).padStart(2, "0")}-0000000${i % 10}`), 2);
    const full = await h.call({ method: "GET", path: "/jobs" });
    expect(full.data.jobs).toHaveLength(JOB_LIST_LIMIT);
    expect(full.data.jobs[0].jobId > full.data.jobs[JOB_LIST_LIMIT - 1].jobId).toBe(true);
  });
});
