/** The retention tagger: only intermediate keys get the early-expiry tag (never inputs or deliveries). */
import { PutObjectTaggingCommand } from "@aws-sdk/client-s3";
import { tagIntermediates } from "../../pipeline/pulumi/handlers/retention-tagger.js";
import { decodeS3EventKey, intermediateFolders, isIntermediateKey } from "../../pipeline/pulumi/retention.js";
import { spaceport } from "../../stages/spaceport.js";

const job = "jobs/20261126-093012-1a2b3c4d";
const folders = intermediateFolders(spaceport);

test("intermediate keys are the non-delivered stage outputs and checkpoints of a job", () => {
  expect(isIntermediateKey(`${job}/sfm/images/IMG_9354.JPG`, folders)).toBe(true);
  expect(isIntermediateKey(`${job}/model/x-gaussian-splatting-1/output/model.tar.gz`, folders)).toBe(true);
  expect(isIntermediateKey(`${job}/checkpoints/gaussian-splatting/ckpt.pt`, folders)).toBe(true);
  for (const key of [
    `${job}/input/photos.zip`,
    `${job}/delivery/scene.sog`,
    `${job}/status/notification-failed.json`,
    `${job}/sfm`, // the folder itself, no object under it
    "jobs/not-a-job-id/sfm/x",
    "uploads/sfm/x",
    `${job}/input/sfm/evil.zip`,
  ]) {
    expect([key, isIntermediateKey(key, folders)]).toEqual([key, false]);
  }
});

test("S3 event keys are decoded before classification", () => {
  expect(decodeS3EventKey("jobs/20261126-093012-1a2b3c4d/sfm/my+photo%281%29.jpg")).toBe("jobs/20261126-093012-1a2b3c4d/sfm/my photo(1).jpg");
});

test("the handler tags intermediates and leaves everything else alone", async () => {
  const sent: PutObjectTaggingCommand[] = [];
  const s3 = { send: async (command: unknown) => void sent.push(command as PutObjectTaggingCommand) };
  const record = (key: string) => ({ s3: { bucket: { name: "b" }, object: { key } } });
  const result = await tagIntermediates(
    { Records: [record(`${job}/sfm/report.json`), record(`${job}/input/photos.zip`), record(`${job}/delivery/index.html`), record(`${job}/model/a+b.tar.gz`)] },
    folders,
    s3 as never,
  );
  expect(result).toEqual({ tagged: 2, skipped: 2 });
  expect(sent.map((c) => c.input)).toEqual([
    { Bucket: "b", Key: `${job}/sfm/report.json`, Tagging: { TagSet: [{ Key: "spaceport:retention", Value: "intermediate" }] } },
    { Bucket: "b", Key: `${job}/model/a b.tar.gz`, Tagging: { TagSet: [{ Key: "spaceport:retention", Value: "intermediate" }] } },
  ]);
});
