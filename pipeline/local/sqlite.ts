/**
 * SQLite for the job store: better-sqlite3 (v12) when its native module loads on this Node,
 * else Node's built-in `node:sqlite` (Node >= 22.13). Why both: better-sqlite3 is a native
 * addon, and an `npm ci` run by an npm that lives on an older Node (its install scripts run on
 * that Node) builds it for the wrong ABI ("compiled against a different Node.js version");
 * the job store must not depend on how node_modules was installed. Only the small common
 * subset is used: prepare/get/all/run, exec, and explicit transactions.
 */
import { createRequire } from "node:module";

export interface Statement {
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number | bigint };
}

export interface SqliteDatabase {
  readonly driver: "better-sqlite3" | "node:sqlite";
  prepare(sql: string): Statement;
  exec(sql: string): void;
  close(): void;
  readonly isOpen: boolean;
}

const require = createRequire(import.meta.url);

export function openDatabase(path: string, prefer = process.env["SPACEPORT_SQLITE"]): SqliteDatabase {
  if (prefer !== "node") {
    try {
      const Database = require("better-sqlite3") as typeof import("better-sqlite3");
      const db = new Database(path);
      return {
        driver: "better-sqlite3",
        prepare: (sql) => db.prepare(sql) as unknown as Statement,
        exec: (sql) => void db.exec(sql),
        close: () => db.close(),
        get isOpen() {
          return db.open;
        },
      };
    } catch (error) {
      if (prefer === "better") throw error;
      // Native module missing or built for another Node: use the built-in driver.
    }
  }
  const { DatabaseSync } = loadNodeSqlite();
  const db = new DatabaseSync(path);
  let open = true;
  return {
    driver: "node:sqlite",
    prepare: (sql) => db.prepare(sql) as unknown as Statement,
    exec: (sql) => db.exec(sql),
    close: () => {
      open = false;
      db.close();
    },
    get isOpen() {
      return open;
    },
  };
}

function loadNodeSqlite(): typeof import("node:sqlite") {
  // node:sqlite announces itself as experimental once per process; that line is noise in a CLI.
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    return (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return require("node:sqlite") as typeof import("node:sqlite");
  } finally {
    process.emitWarning = emit;
  }
}
