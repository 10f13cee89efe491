// Runs benchmark cells off the main thread, so a long matrix can use every core.
/// <reference lib="deno.worker" />
import { type CellSpec, runCell } from "./cell.ts";

self.onmessage = async (event: MessageEvent<CellSpec>) => {
  try {
    self.postMessage({ ok: true, result: await runCell(event.data) });
  } catch (error) {
    self.postMessage({
      ok: false,
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }
};
