import { join } from "node:path";
import { DataDir } from "../../pipeline/local/data.js";
import { DEFAULT_PORT, linkBaseOf, linkPortOf, preferredPort, recordLinkBase, rememberPort } from "../../pipeline/local/links.js";
import { tempDir } from "./fixtures.js";

describe("local links stay valid", () => {
  it("a data dir is served on 8787 until it remembers the port it was first served on", () => {
    const data = new DataDir(join(tempDir("links-port"), "data"));
    expect(preferredPort(data)).toBe(DEFAULT_PORT);
    rememberPort(data, 9100);
    rememberPort(data, 9200); // the first one stays: older links use it
    expect(preferredPort(data)).toBe(9100);
  });

  it("each job remembers the base of its links; ids are checked", () => {
    const data = new DataDir(join(tempDir("links-job"), "data"));
    const job = "20261201-101500-0a1b2c3d";
    expect(linkBaseOf(data, job)).toBeUndefined();
    expect(linkPortOf(data, job)).toBeUndefined();
    recordLinkBase(data, job, "http://127.0.0.1:40123");
    expect(linkBaseOf(data, job)).toBe("http://127.0.0.1:40123");
    expect(linkPortOf(data, job)).toBe(40123);
    expect(() => linkBaseOf(data, "../etc/passwd")).toThrow("not a job id");
  });
});
