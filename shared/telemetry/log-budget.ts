// Hosted Edge Functions keep at most 100 log events per 10 s and drop the rest unseen, the errors among them.
// At 20 bookings/s the coordinator's lines per booking alone are several hundred per 10 s, and a database out
// of reach makes the drain log a failed claim every 100 ms: the line an operator needs would be the one lost.
// So each instance spends a budget per window: informational lines take at most a share of it, a line said
// over and over (the same source and message) a few, warnings and errors the rest, and what was left out is
// counted in one line once the window ends, or when the instance is about to end. The database's
// observability events, not these lines, are the record of every booking.
import type { LogFields, Logger } from "./log.ts";

export interface LogBudget {
  /** Lines an instance writes per window at most, the count of what was left out included. */
  linesPerWindow: number;
  /** Of which informational lines at most. */
  infoPerWindow: number;
  /** Of which the same source and message at most. */
  repeatsPerWindow: number;
  windowMs: number;
}

/** Half the platform's threshold per instance, so two instances of a function at once stay under it. */
export const DEFAULT_LOG_BUDGET: LogBudget = {
  linesPerWindow: 50,
  infoPerWindow: 20,
  repeatsPerWindow: 3,
  windowMs: 10_000,
};

type Level = keyof Logger;

export interface BudgetedLogger extends Logger {
  /** Writes the count of what the current window left out now (before the instance ends). */
  flush(): void;
}

export function budgetedLogger(
  inner: Logger,
  budget: LogBudget = DEFAULT_LOG_BUDGET,
  clock: { now(): number; later(run: () => void, ms: number): void } = realClock,
): BudgetedLogger {
  let windowStart: number | undefined;
  let written = 0;
  let info = 0;
  const said = new Map<string, number>();
  const leftOut: Record<Level, number> = { info: 0, warn: 0, error: 0 };

  // The count of a window's left-out lines opens the next window, so it is always within a budget.
  function closeWindow() {
    const { info: i, warn: w, error: e } = leftOut;
    windowStart = undefined;
    written = info = 0;
    said.clear();
    leftOut.info = leftOut.warn = leftOut.error = 0;
    const n = i + w + e;
    if (n > 0) {
      write(
        "warn",
        "telemetry",
        `${n} log line${n === 1 ? "" : "s"} left out to stay under the platform's log limit`,
        { window_ms: budget.windowMs, info: i, warn: w, error: e },
      );
    }
  }

  // The window's end is looked at once it has passed; a timer that fires early looks again.
  function closeWhenOver() {
    if (windowStart === undefined) return;
    const left = windowStart + budget.windowMs - clock.now();
    if (left <= 0) closeWindow();
    else clock.later(closeWhenOver, left);
  }

  function write(level: Level, source: string, message: string, fields?: LogFields) {
    if (windowStart !== undefined && clock.now() - windowStart >= budget.windowMs) closeWindow();
    if (windowStart === undefined) {
      windowStart = clock.now();
      clock.later(closeWhenOver, budget.windowMs);
    }
    const key = `${source}\u0000${message}`;
    const times = said.get(key) ?? 0;
    if (
      written >= budget.linesPerWindow || times >= budget.repeatsPerWindow ||
      (level === "info" && info >= budget.infoPerWindow)
    ) {
      leftOut[level]++;
      return;
    }
    said.set(key, times + 1);
    written++;
    if (level === "info") info++;
    inner[level](source, message, fields);
  }

  return {
    info: (source, message, fields) => write("info", source, message, fields),
    warn: (source, message, fields) => write("warn", source, message, fields),
    error: (source, message, fields) => write("error", source, message, fields),
    flush: () => {
      if (windowStart !== undefined) closeWindow();
    },
  };
}

// A monotonic clock (a wall clock set back would hold a window open); the timer keeps no server alive that
// has nothing else to do.
const realClock = {
  now: () => performance.now(),
  later(run: () => void, ms: number) {
    const timer = setTimeout(run, ms);
    // Not in every runtime: there the timer holds the instance for the rest of the window at most.
    if (typeof Deno.unrefTimer === "function") Deno.unrefTimer(timer);
  },
};
