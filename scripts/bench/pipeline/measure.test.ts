import { assertEquals } from "../../../shared/testing/assert.ts";
import { parseProcStat, treeTicks } from "./measure.ts";

const line = (pid: number, ppid: number, name: string, u: number, s: number, cu = 0, cs = 0) =>
  `${pid} (${name}) S ${ppid} 1 1 0 -1 4194560 100 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 4 0 100 1000 10`;

Deno.test("/proc/<pid>/stat: ppid and utime + stime + cutime + cstime, whatever the command name holds", () => {
  assertEquals(parseProcStat(line(42, 7, "deno (main) x", 120, 30, 5, 1)), { pid: 42, ppid: 7, ticks: 156 });
});

Deno.test("a process tree's ticks are its own and its live descendants', nothing outside it", () => {
  const stats = [
    line(1, 0, "init", 1000, 1000),
    line(10, 1, "bash", 1, 1, 50, 10), // a supervisor loop; 60 ticks of a reaped child
    line(11, 10, "deno", 200, 40),
    line(12, 11, "worker child", 5, 5),
    line(20, 1, "other", 300, 300),
  ].map(parseProcStat);
  assertEquals(treeTicks(stats, 10), 2 + 60 + 240 + 10);
  assertEquals(treeTicks(stats, 11), 250);
  assertEquals(treeTicks(stats, 99), null);
});
