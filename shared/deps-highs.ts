// HiGHS (WebAssembly MILP solver), pinned like deps.ts. Kept apart from deps.ts because only the exact
// fallback needs it and imports this module on demand: importing deps.ts must never load the solver.
export { default } from "npm:highs@1.15.3";
export type { Highs } from "npm:highs@1.15.3";
