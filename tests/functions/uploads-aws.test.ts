import { beforeEach, describe, expect, it } from "@jest/globals";
import { mockClient } from "aws-sdk-client-mock";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  NoSuchUpload,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createApi } from "../../functions/api.js";
import { S3MultipartUploads } from "../../functions/adapters/aws/multipart-uploads.js";
import { MIB } from "../../functions/uploads/parts.js";
import { FakeExecutions, KEYS, MemoryStore, PROCESSING, RecordingLogger, testConfig, UPLOADS } from "./helpers.js";

const s3 = mockClient(S3Client);
beforeEach(() => {
  s3.reset();
});

const client = () => new S3Client({ region: "us-west-2", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
const target = { bucket: UPLOADS, key: "uploads/website/2026-11-26/ab/site.zip", uploadId: "UPLOAD-1" };
const noSuchUpload = () => new NoSuchUpload({ message: "The specified upload does not exist", $metadata: { httpStatusCode: 404 } });

describe("S3MultipartUploads", () => {
  it("create: CreateMultipartUpload with the ZIP's content type", async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "UPLOAD-1" });
    expect(await new S3MultipartUploads(client()).create(UPLOADS, target.key, "application/zip")).toBe("UPLOAD-1");
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]!.args[0].input).toEqual({ Bucket: UPLOADS, Key: target.key, ContentType: "application/zip" });
  });

  it("partUrls: real SigV4 presigned UploadPart URLs, one per part, with the expiry asked for", async () => {
    const urls = await new S3MultipartUploads(client()).partUrls(target, [1, 2], 3600);
    expect(urls).toHaveLength(2);
    const url = new URL(urls[1]!);
    expect(url.hostname).toBe(`${UPLOADS}.s3.us-west-2.amazonaws.com`);
    expect(url.pathname).toBe("/uploads/website/2026-11-26/ab/site.zip");
    expect(url.searchParams.get("partNumber")).toBe("2");
    expect(url.searchParams.get("uploadId")).toBe("UPLOAD-1");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("3600");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^AKIDEXAMPLE\//);
    expect(s3.calls()).toHaveLength(0); // presigning sends nothing
  });

  it("partUrls passes each UploadPart command to the presigner", async () => {
    const seen: unknown[] = [];
    const uploads = new S3MultipartUploads(client(), async (_s3, command, options) => {
      seen.push({ ...(command as UploadPartCommand).input, ...options });
      return "https://signed";
    });
    await uploads.partUrls(target, [3], 60);
    expect(seen).toEqual([{ Bucket: UPLOADS, Key: target.key, UploadId: "UPLOAD-1", PartNumber: 3, expiresIn: 60 }]);
  });

  it("listParts pages through ListParts; an unknown upload is undefined", async () => {
    s3.on(ListPartsCommand, { UploadId: "UPLOAD-1" })
      .resolvesOnce({ Parts: [{ PartNumber: 2, Size: 5, ETag: '"b"' }], IsTruncated: true, NextPartNumberMarker: "2" })
      .resolvesOnce({ Parts: [{ PartNumber: 1, Size: 8, ETag: '"a"' }], IsTruncated: false });
    const uploads = new S3MultipartUploads(client());
    expect(await uploads.listParts(target)).toEqual([
      { partNumber: 1, size: 8, etag: '"a"' },
      { partNumber: 2, size: 5, etag: '"b"' },
    ]);
    expect(s3.commandCalls(ListPartsCommand).map((c) => c.args[0].input.PartNumberMarker)).toEqual([undefined, "2"]);
    s3.on(ListPartsCommand, { UploadId: "GONE" }).rejects(noSuchUpload());
    expect(await uploads.listParts({ ...target, uploadId: "GONE" })).toBeUndefined();
  });

  it("complete sends the parts in order with their ETags; abort tolerates an upload already gone", async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({});
    s3.on(AbortMultipartUploadCommand).rejects(noSuchUpload());
    const uploads = new S3MultipartUploads(client());
    await uploads.complete(target, [{ partNumber: 1, size: 8, etag: '"a"' }, { partNumber: 2, size: 5, etag: '"b"' }]);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input).toEqual({
      Bucket: UPLOADS,
      Key: target.key,
      UploadId: "UPLOAD-1",
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"a"' }, { PartNumber: 2, ETag: '"b"' }] },
    });
    await expect(uploads.abort(target)).resolves.toBeUndefined();
    s3.on(AbortMultipartUploadCommand).rejects(new Error("AccessDenied"));
    await expect(uploads.abort(target)).rejects.toThrow("AccessDenied");
  });
});

describe("uploads API on S3 (mocked client)", () => {
  const api = (store = new MemoryStore()) => ({
    store,
    router: createApi({ store, executions: new FakeExecutions(), uploads: new S3MultipartUploads(client()), log: new RecordingLogger().log }, testConfig({}, { maxInputBytes: 100 * MIB })),
  });
  const call = async (router: ReturnType<typeof api>["router"], method: string, path: string, json?: unknown) => {
    const r = await router({ method, path, headers: { authorization: `Bearer ${KEYS.website}`, ...(json ? { "content-type": "application/json" } : {}) }, ...(json ? { body: JSON.stringify(json) } : {}) });
    return { status: r.status, data: JSON.parse(r.body) as any };
  };

  it("start → presigned URLs; complete checks the parts against the announced size, then completes", async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "UPLOAD-9" });
    const { router, store } = api();
    const started = await call(router, "POST", "/uploads", { name: "site.zip", size: 20 * MIB });
    expect(started.status).toBe(201);
    expect(started.data).toMatchObject({ partSize: 8 * MIB, partCount: 3 });
    expect(started.data.parts.map((p: { url: string }) => new URL(p.url).searchParams.get("partNumber"))).toEqual(["1", "2", "3"]);
    const record = JSON.parse((await store.getText(PROCESSING, `uploads/${started.data.uploadId}.json`))!);
    expect(record).toMatchObject({ client: "website", bucket: UPLOADS, uploadId: "UPLOAD-9", state: "open" });

    // One part short of the announced size: refused, nothing completed.
    s3.on(ListPartsCommand).resolves({ Parts: [{ PartNumber: 1, Size: 8 * MIB, ETag: '"1"' }, { PartNumber: 2, Size: 8 * MIB, ETag: '"2"' }, { PartNumber: 3, Size: 4 * MIB - 1, ETag: '"3"' }] });
    const short = await call(router, "POST", `/uploads/${started.data.uploadId}/complete`);
    expect(short.data.error.message).toBe(`parts: part 3 has ${4 * MIB - 1} bytes; it must have ${4 * MIB}`);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);

    s3.on(ListPartsCommand).resolves({ Parts: [{ PartNumber: 3, Size: 4 * MIB, ETag: '"3"' }, { PartNumber: 1, Size: 8 * MIB, ETag: '"1"' }, { PartNumber: 2, Size: 8 * MIB, ETag: '"2"' }] });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const done = await call(router, "POST", `/uploads/${started.data.uploadId}/complete`);
    expect(done).toMatchObject({ status: 200, data: { input: `s3://${UPLOADS}/${record.key}`, state: "completed" } });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input.MultipartUpload!.Parts!.map((p) => p.ETag)).toEqual(['"1"', '"2"', '"3"']);
    expect((await call(router, "DELETE", `/uploads/${started.data.uploadId}`)).status).toBe(409); // a completed upload is an input now
  });

  it("DELETE aborts the multipart upload", async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "UPLOAD-7" });
    s3.on(AbortMultipartUploadCommand).resolves({});
    const { router } = api();
    const started = await call(router, "POST", "/uploads", { name: "a.zip", size: 10 });
    expect((await call(router, "DELETE", `/uploads/${started.data.uploadId}`)).data.state).toBe("aborted");
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input).toMatchObject({ Bucket: UPLOADS, UploadId: "UPLOAD-7" });
  });
});
