// A large body is refused before it is buffered: by its declared length without reading a byte, and
// without one as soon as the bytes received pass the ceiling. A body that does not arrive in time is refused,
// and so is one whose stream breaks off.
import { assert, assertEquals } from "../testing/assert.ts";
import { readBodyText } from "./body.ts";

/** A body of `chunks` chunks of `size` bytes each, counting how many were pulled. */
function streamed(chunks: number, size: number) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(32));
    },
  }, { highWaterMark: 0 });
  return { body, pulled: () => pulled };
}

Deno.test("a declared length over the ceiling is refused without reading the body", async () => {
  const stream = streamed(100, 1024);
  const request = new Request("http://local/", {
    method: "POST",
    body: stream.body,
    headers: { "content-length": String(200 * 1024 * 1024) },
  });
  assertEquals(await readBodyText(request, 16 * 1024), { ok: false, why: "too_large" });
  assertEquals(stream.pulled(), 0);
});

Deno.test("a body without a declared length is read only until it passes the ceiling", async () => {
  const stream = streamed(1000, 1024);
  const request = new Request("http://local/", { method: "POST", body: stream.body });
  assertEquals(await readBodyText(request, 16 * 1024), { ok: false, why: "too_large" });
  assertEquals(stream.pulled(), 17, "16 chunks reach the ceiling, the 17th passes it, and reading stops");
});

Deno.test("a body within the ceiling is read whole", async () => {
  const request = new Request("http://local/", { method: "POST", body: '{"booking_id": "x"}' });
  assertEquals(await readBodyText(request, 16 * 1024), { ok: true, text: '{"booking_id": "x"}' });
  const large = new Request("http://local/", { method: "POST", body: "x".repeat(16 * 1024 + 1) });
  assertEquals(await readBodyText(large, 16 * 1024), { ok: false, why: "too_large" });
});

Deno.test("a body still arriving at the deadline is refused then, and its stream cancelled", async () => {
  let cancelled = false;
  const trickle = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"booking_id": '));
    },
    cancel() {
      cancelled = true;
    },
  });
  const request = new Request("http://local/", { method: "POST", body: trickle });
  const started = performance.now();
  assertEquals(await readBodyText(request, 16 * 1024, 200), { ok: false, why: "too_slow" });
  const waited = performance.now() - started;
  assert(waited >= 190 && waited < 2_000, `refused at the deadline (${Math.round(waited)} ms)`);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert(cancelled, "the stream is cancelled");
});

Deno.test("a body whose stream breaks off is refused, not thrown", async () => {
  const broken = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"booking_id": '));
    },
    pull(controller) {
      controller.error(new TypeError("connection reset"));
    },
  });
  const request = new Request("http://local/", { method: "POST", body: broken });
  assertEquals(await readBodyText(request, 16 * 1024), { ok: false, why: "broken" });
});
