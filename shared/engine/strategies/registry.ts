// The strategies the pipeline can run, by name.
import { firstFit } from "./first-fit.ts";
import { optimalFit } from "./optimal-fit.ts";
import { scarcityFit } from "./scarcity-fit.ts";
import type { Strategy } from "./strategy.ts";

const strategies: ReadonlyMap<string, Strategy> = new Map(
  [scarcityFit(), optimalFit, firstFit].map((s) => [s.name, s]),
);

export const DEFAULT_STRATEGY = "scarcity_fit";

export function strategyNames(): string[] {
  return [...strategies.keys()];
}

export function getStrategy(name: string | Strategy): Strategy {
  if (typeof name !== "string") return name;
  const strategy = strategies.get(name);
  if (!strategy) {
    throw new RangeError(`unknown strategy "${name}"; known: ${strategyNames().join(", ")}`);
  }
  return strategy;
}
