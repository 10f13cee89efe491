// The functions' log budget: never more lines per window than the platform keeps, informational lines
// first to go, errors kept while there is room, and what was left out counted once the window ends.
import { assertEquals } from "../testing/assert.ts";
import { budgetedLogger } from "./log-budget.ts";
import type { Logger } from "./log.ts";

function recording() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (_source: string, message: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, message, fields });
  const inner: Logger = { info: at("info"), warn: at("warn"), error: at("error") };
  let now = 0;
  const timers: { at: number; run: () => void }[] = [];
  const clock = {
    now: () => now,
    later: (run: () => void, ms: number) => void timers.push({ at: now + ms, run }),
  };
  /** Moves the clock on, running the timers that fall due. */
  const advance = (ms: number) => {
    now += ms;
    const due = timers.filter((t) => t.at <= now);
    timers.splice(0, timers.length, ...timers.filter((t) => t.at > now));
    for (const t of due) t.run();
  };
  return { lines, clock, advance, inner };
}

const budget = { linesPerWindow: 10, infoPerWindow: 4, repeatsPerWindow: 100, windowMs: 10_000 };

Deno.test("a burst of booking lines leaves room for the errors after it, and the window's end counts what was left out", () => {
  const { lines, clock, advance, inner } = recording();
  const log = budgetedLogger(inner, budget, clock);
  for (let i = 0; i < 100; i++) log.info("assignment.coordinator", "confirmed");
  for (let i = 0; i < 3; i++) log.error("assignment.coordinator", "claim failed");
  assertEquals(lines.map((l) => l.level), ["info", "info", "info", "info", "error", "error", "error"]);
  for (let i = 0; i < 20; i++) log.error("assignment.coordinator", "claim failed");
  assertEquals(lines.length, 10, "never more than the window's budget");
  advance(10_000);
  assertEquals(lines.at(-1), {
    level: "warn",
    message: "113 log lines left out to stay under the platform's log limit",
    fields: { window_ms: 10_000, info: 96, warn: 0, error: 17 },
  });
  log.error("assignment.coordinator", "claim failed");
  assertEquals(lines.length, 12, "the next window starts afresh");
});

Deno.test("a window with nothing left out says nothing at its end, and a line after a quiet spell starts a new one", () => {
  const { lines, clock, advance, inner } = recording();
  const log = budgetedLogger(inner, budget, clock);
  for (let i = 0; i < 4; i++) log.info("notifications", "sent");
  advance(10_000);
  assertEquals(lines.length, 4);
  advance(50_000);
  for (let i = 0; i < 4; i++) log.info("notifications", "sent");
  assertEquals(lines.length, 8, "a new window's share of informational lines");
});

Deno.test("the count of a window's left-out lines is written even when a line opens the next window before its timer", () => {
  const { lines, clock, advance, inner } = recording();
  const log = budgetedLogger(inner, { ...budget, linesPerWindow: 2, infoPerWindow: 2 }, clock);
  for (let i = 0; i < 5; i++) log.warn("assignment.coordinator", "retry scheduled");
  advance(9_999);
  assertEquals(lines.length, 2);
  // The clock moves past the window without its timer having run (a busy event loop).
  const late = budgetedLogger(inner, { ...budget, linesPerWindow: 2, infoPerWindow: 2 }, {
    now: clock.now,
    later: () => {},
  });
  for (let i = 0; i < 3; i++) late.error("x", "e");
  advance(10_000);
  late.error("x", "e");
  assertEquals(lines.slice(-2).map((l) => [l.level, l.message]), [
    ["warn", "1 log line left out to stay under the platform's log limit"],
    ["error", "e"],
  ]);
});

Deno.test("a line said over and over takes a few of the window's lines, so a new error after it is kept", () => {
  const { lines, clock, inner } = recording();
  const log = budgetedLogger(inner, { ...budget, linesPerWindow: 50, repeatsPerWindow: 3 }, clock);
  for (let i = 0; i < 100; i++) log.error("assignment.coordinator", "claim failed: connection refused");
  log.error("assignment.coordinator", "drain failed: the commit's lease ran out");
  assertEquals(lines.map((l) => l.message), [
    "claim failed: connection refused",
    "claim failed: connection refused",
    "claim failed: connection refused",
    "drain failed: the commit's lease ran out",
  ]);
  log.flush();
  assertEquals(lines.at(-1)?.message, "97 log lines left out to stay under the platform's log limit");
  log.flush();
  assertEquals(lines.length, 5, "a second flush has nothing to count");
});

Deno.test("a window timer that fires early looks again when the window is over", () => {
  const lines: string[] = [];
  const inner: Logger = { info: () => {}, warn: (_s, m) => void lines.push(m), error: () => {} };
  let now = 0;
  const timers: { at: number; run: () => void }[] = [];
  // Timers fire a second early.
  const log = budgetedLogger(inner, { ...budget, infoPerWindow: 0 }, {
    now: () => now,
    later: (run, ms) => void timers.push({ at: now + ms - 1_000, run }),
  });
  log.info("x", "left out");
  now = 9_000;
  timers.shift()!.run();
  assertEquals(lines, [], "not over yet");
  assertEquals(timers.map((t) => t.at), [9_000], "looked at again when the window ends");
  now = 10_000;
  timers.shift()!.run();
  assertEquals(lines, ["1 log line left out to stay under the platform's log limit"]);
});
