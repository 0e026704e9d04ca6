/** A length of time. Stages declare timeouts and expected durations with these helpers, never raw numbers. */
export interface Duration {
  readonly seconds: number;
}

function duration(seconds: number, unit: string, value: number): Duration {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`duration must be a non-negative finite number of ${unit}, got ${value}`);
  }
  return Object.freeze({ seconds: Math.round(seconds) });
}

export const seconds = (n: number): Duration => duration(n, "seconds", n);
export const minutes = (n: number): Duration => duration(n * 60, "minutes", n);
export const hours = (n: number): Duration => duration(n * 3600, "hours", n);
export const days = (n: number): Duration => duration(n * 86_400, "days", n);

export function formatDuration(d: Duration): string {
  const s = d.seconds;
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} h`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}
