import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { OutboxMailer, SmtpMailer, localMailer } from "../../functions/adapters/local/mailer.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "spaceport-functions-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("LocalObjectStore (real files)", () => {
  it("put, head, get, copy and list behave like S3, one folder per bucket", async () => {
    const store = new LocalObjectStore(join(root, "data"), { publicBaseUrl: "http://127.0.0.1:8787/files/" });
    await store.putText("uploads", "surveys/site 1.zip", "PK\x03\x04zip");
    expect(await stat(join(root, "data", "uploads", "surveys", "site 1.zip"))).toBeTruthy();
    expect(await store.head("uploads", "surveys/site 1.zip")).toMatchObject({ size: 7, contentType: "application/zip" });
    expect(await store.head("uploads", "surveys/none.zip")).toBeUndefined();
    expect(await store.head("uploads", "surveys")).toBeUndefined(); // a folder is not an object
    expect(await store.getText("uploads", "surveys/site 1.zip")).toBe("PK\x03\x04zip");
    expect(await store.getText("nobucket", "x")).toBeUndefined();

    expect(await store.copyIfAbsent({ bucket: "uploads", key: "surveys/site 1.zip" }, { bucket: "processing", key: "jobs/j1/input/photos.zip" })).toBe(true);
    expect(await store.getText("processing", "jobs/j1/input/photos.zip")).toBe("PK\x03\x04zip");
    expect(await store.getText("uploads", "surveys/site 1.zip")).toBe("PK\x03\x04zip"); // input kept

    await store.putText("processing", "jobs/j1/sfm/report.json", "{}");
    await store.putText("processing", "jobs/j10/input/photos.zip", "x");
    expect((await store.list("processing", "jobs/j1/")).map((o) => o.key)).toEqual(["jobs/j1/input/photos.zip", "jobs/j1/sfm/report.json"]);
    expect((await store.list("processing", "jobs/j1")).map((o) => o.key)).toEqual(["jobs/j1/input/photos.zip", "jobs/j1/sfm/report.json", "jobs/j10/input/photos.zip"]);
    expect(await store.list("processing", "nothing/here/")).toEqual([]);

    expect(await store.publicUrl("processing", "jobs/j1/delivery/index.html")).toBe("http://127.0.0.1:8787/files/processing/jobs/j1/delivery/index.html");
    const plain = new LocalObjectStore(join(root, "data"));
    expect(await plain.publicUrl("processing", "jobs/j1/a b.html")).toBe(`file://${join(root, "data", "processing", "jobs", "j1", "a%20b.html")}`);
  });

  it("putTextIfAbsent creates once, atomically, even when racing", async () => {
    const store = new LocalObjectStore(join(root, "race"));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putTextIfAbsent("processing", "idempotency/k.json", `{"n":${i}}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await store.getText("processing", "idempotency/k.json")).toBe(`{"n":${winner}}`);
    expect(await readdir(join(root, "race", "processing", "idempotency"))).toEqual(["k.json"]); // no temp files left
  });

  it("copyIfAbsent copies once when racing, and no temporary file is ever inside a bucket", async () => {
    const store = new LocalObjectStore(join(root, "copies"));
    await store.putText("uploads", "in.zip", "x".repeat(200_000));
    const seen = new Set<string>();
    const watch = setInterval(() => void readdir(join(root, "copies", "processing", "jobs", "j", "input")).then((names) => names.forEach((n) => seen.add(n)), () => {}), 1);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => store.copyIfAbsent({ bucket: "uploads", key: "in.zip" }, { bucket: "processing", key: "jobs/j/input/photos.zip" })),
    );
    clearInterval(watch);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readdir(join(root, "copies", "processing", "jobs", "j", "input"))).toEqual(["photos.zip"]);
    expect([...seen].filter((n) => n !== "photos.zip")).toEqual([]);
    expect((await store.list("processing", "jobs/j/input/photos.zip")).map((o) => o.key)).toEqual(["jobs/j/input/photos.zip"]);
    expect(await readdir(join(root, "copies", ".incoming"))).toEqual([]);
  });

  it("putStream: an upload cut off halfway leaves nothing under its name", async () => {
    const store = new LocalObjectStore(join(root, "streams"));
    async function* cutOff() {
      yield Buffer.alloc(100_000, 1);
      throw new Error("aborted");
    }
    await expect(store.putStream("uploads", "local/a.zip", cutOff())).rejects.toThrow("aborted");
    expect(await store.head("uploads", "local/a.zip")).toBeUndefined();
    expect(await readdir(join(root, "streams", ".incoming"))).toEqual([]);
    async function* whole() {
      yield Buffer.alloc(1000, 2);
      yield Buffer.alloc(24, 3);
    }
    expect(await store.putStream("uploads", "local/b.zip", whole())).toBe(1024);
    expect(await store.head("uploads", "local/b.zip")).toMatchObject({ size: 1024 });
  });

  it("refuses keys and buckets that would leave the data folder", async () => {
    const store = new LocalObjectStore(join(root, "safe"));
    await mkdir(join(root, "safe"), { recursive: true });
    await writeFile(join(root, "secret.txt"), "secret");
    for (const key of ["../secret.txt", "a/../../secret.txt", "/etc/passwd", "a//b", "a\\..\\b", "", "a/./b", "x\0y"]) {
      await expect(store.getText("bucket", key)).rejects.toThrow(/invalid object key|leaves/);
      await expect(store.putText("bucket", key, "x")).rejects.toThrow();
    }
    for (const bucket of ["..", "../safe", "A", "a/b"]) await expect(store.head(bucket, "k")).rejects.toThrow(/invalid bucket/);
    expect(await readFile(join(root, "secret.txt"), "utf8")).toBe("secret");
  });
});

describe("local Mailer", () => {
  const message = { to: "jane@example.com", subject: "Your 3D model is ready (job 20261126-093012-1a2b3c4d)", html: "<p>Open <a href=\"https://x/\">it</a></p>", text: "Open it: https://x/", jobId: "20261126-093012-1a2b3c4d" };

  it("without SPACEPORT_SMTP_URL writes an .eml with text and HTML parts to the outbox", async () => {
    const outbox = join(root, "outbox");
    const mailer = localMailer({}, { outbox, from: "jobs@spaceport.local" });
    expect(mailer).toBeInstanceOf(OutboxMailer);
    const { messageId } = await mailer.send(message);
    const files = await readdir(outbox);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/20261126-093012-1a2b3c4d.*\.eml$/);
    const eml = await readFile(join(outbox, files[0]!), "utf8");
    expect(eml).toContain(`Message-ID: ${messageId}`);
    expect(eml).toContain("To: jane@example.com");
    expect(eml).toContain("From: jobs@spaceport.local");
    expect(eml).toContain("X-Spaceport-Job: 20261126-093012-1a2b3c4d");
    expect(eml).toMatch(/Content-Type: multipart\/alternative/);
    expect(eml).toMatch(/Content-Type: text\/plain/);
    expect(eml).toMatch(/Content-Type: text\/html/);
  });

  it("with SPACEPORT_SMTP_URL sends over SMTP (smtp-server on 127.0.0.1)", async () => {
    const received: { from: string; to: string[]; data: string }[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString("utf8"),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.server.address() as AddressInfo).port;
    try {
      const mailer = localMailer({ SPACEPORT_SMTP_URL: `smtp://127.0.0.1:${port}` }, { outbox: join(root, "unused"), from: "jobs@spaceport.local" });
      expect(mailer).toBeInstanceOf(SmtpMailer);
      const { messageId } = await mailer.send(message);
      (mailer as SmtpMailer).close();
      expect(messageId).toMatch(/^<.+>$/);
      expect(received).toHaveLength(1);
      expect(received[0]!.from).toBe("jobs@spaceport.local");
      expect(received[0]!.to).toEqual(["jane@example.com"]);
      expect(received[0]!.data).toContain("Subject: Your 3D model is ready (job 20261126-093012-1a2b3c4d)");
      expect(received[0]!.data).toMatch(/text\/html/);
      await expect(stat(join(root, "unused"))).rejects.toThrow();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
