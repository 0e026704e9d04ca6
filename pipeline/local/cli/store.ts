/** The job store of a data folder, for the commands that only read it (jobs, status, open). */
import { DataDir, resolveDataDir } from "../data.js";
import { JobStore } from "../store.js";
import { COMMANDS } from "./usage.mjs";

export const readOptions = COMMANDS.jobs.options;

/** Runs `fn` with the store open, closing it after. */
export async function withStore<T>(dataDirOption: string | undefined, fn: (data: DataDir, store: JobStore) => T | Promise<T>): Promise<T> {
  const data = new DataDir(resolveDataDir(dataDirOption));
  const store = new JobStore(data.database);
  try {
    return await fn(data, store);
  } finally {
    store.close();
  }
}
