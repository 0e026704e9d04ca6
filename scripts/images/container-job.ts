/**
 * One whole job in the stage images (`spaceport run --docker`, preview quality, the generated
 * survey) beside the same job run natively, asserting what the native end-to-end test asserts:
 * every photo placed close to the truth, held-out PSNR above the floor, SOG >= 10x smaller than
 * the PLY, a viewer that renders in headless Chromium; then that both runs agree (same photos
 * placed, PSNR within 0.5 dB). Last, a stage that fails in its container (a ZIP without photos)
 * must end the job with the reason its failure file holds. Prints the figures; exit 1 on a miss.
 *   node --import tsx scripts/images/container-job.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertDelivered, check, failureFile, failures, figuresOf, PSNR_AGREEMENT_DB, python, spaceportRun } from "./job-checks.js";

let passed = false;

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "spaceport-container-job-"));
  try {
    python(["-m", "samples.survey", "--out", join(work, "survey"), "--count", "24", "--width", "640", "--height", "480"]);
    python(["-m", "samples.inputs", "no-images", "--out", join(work, "no-images.zip")]);
    const zip = join(work, "survey", "survey.zip");
    const truth = join(work, "survey", "truth.json");

    console.log("\n== native: spaceport run (preview)");
    const native = await spaceportRun(zip, join(work, "native"), false);
    console.log("\n== containers: spaceport run --docker (preview)");
    const docker = await spaceportRun(zip, join(work, "docker"), true);
    const n = await figuresOf(native, truth);
    const d = await figuresOf(docker, truth);

    console.log("\n== checks");
    assertDelivered("native", native, n);
    assertDelivered("docker", docker, d);
    check(n.placed === d.placed && n.total === d.total, `native and docker place the same photos (${n.placed}/${n.total} and ${d.placed}/${d.total})`);
    check(Math.abs(n.psnr - d.psnr) <= PSNR_AGREEMENT_DB, `native and docker PSNR within ${PSNR_AGREEMENT_DB} dB (${n.psnr.toFixed(2)} and ${d.psnr.toFixed(2)} dB)`);

    console.log("\n== containers: a stage that fails (a ZIP without photos)");
    const failing = await spaceportRun(join(work, "no-images.zip"), join(work, "docker"), true);
    const written = failureFile(failing);
    const reported = /failed in stage (\S+): (.+)$/m.exec(failing.output);
    check(failing.code === 1, `failing job exits 1 (exit code ${failing.code})`);
    check(reported?.[1] === "sfm", `failing job names stage sfm (${reported?.[1] ?? "no stage"})`);
    check(written !== undefined && reported !== null && reported[2]!.includes(written.replace(/\.$/, "")), `the job's reason is the failure file's: "${written ?? "(no failure file)"}"`);

    console.log("\n== figures: native | docker");
    console.log(`job time:         ${native.seconds.toFixed(0)} s | ${docker.seconds.toFixed(0)} s (${(docker.seconds / native.seconds).toFixed(2)}x)`);
    console.log(`photos placed:    ${n.placed}/${n.total} | ${d.placed}/${d.total}`);
    console.log(`held-out PSNR:    ${n.psnr.toFixed(2)} dB | ${d.psnr.toFixed(2)} dB (difference ${(d.psnr - n.psnr).toFixed(2)} dB)`);
    console.log(`PLY/SOG:          ${n.sogRatio.toFixed(1)}x | ${d.sogRatio.toFixed(1)}x`);
    console.log(`failing stage:    ${failing.seconds.toFixed(0)} s, reason: ${written ?? "(none)"}`);
    if (failures.length > 0) {
      console.error(`\n${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
      return 1;
    }
    console.log("\nall container job checks passed");
    passed = true;
    return 0;
  } finally {
    // kept when anything failed (or when asked): the jobs' logs and outputs are what to look at
    if (failures.length === 0 && !process.env["SPACEPORT_KEEP_CONTAINER_JOB"] && passed) rmSync(work, { recursive: true, force: true });
    else console.log(`job folders kept in ${work}`);
  }
}

process.exitCode = await main();
