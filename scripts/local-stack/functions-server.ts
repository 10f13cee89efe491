// Serves every edge function in supabase/functions at http://127.0.0.1:54321/functions/v1/<name>, the
// way `supabase functions serve` does, without Docker: each function's real index.ts runs in its own
// Deno process (restarted if it dies) and this process routes requests to it. Each listens on a port the
// system picks, which it names on its standard error ("Listening on …"), so no port of its own can be taken
// by another program; /health answers 200 only once every function listens.
const ROOT = new URL("../../", import.meta.url).pathname;
const PORT = Number(Deno.env.get("FUNCTIONS_PORT") ?? 54321);
const DENO = Deno.execPath();

interface Worker {
  name: string;
  /** Where the running process listens; undefined while it starts. */
  port?: number;
  process?: Deno.ChildProcess;
  /** Its standard error passed on, until the process closes it. */
  relayed?: Promise<void>;
}

const workers = new Map<string, Worker>();
for await (const entry of Deno.readDir(`${ROOT}supabase/functions`)) {
  if (!entry.isDirectory || entry.name.startsWith("_")) continue;
  try {
    await Deno.stat(`${ROOT}supabase/functions/${entry.name}/index.ts`);
    workers.set(entry.name, { name: entry.name });
  } catch { /* not a function */ }
}

const LISTENING = /^Listening on http:\/\/127\.0\.0\.1:(\d+)\//;

/**
 * Passes a process's standard error on, line by line, and notes the port its server says it listens on while
 * the process still runs (a line read after it exited names a port nobody listens on).
 */
async function relay(worker: Worker, process: Deno.ChildProcess, running: () => boolean): Promise<void> {
  let pending = "";
  for await (const text of process.stderr.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + text).split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      const listening = LISTENING.exec(line);
      if (listening && worker.process === process && running()) worker.port = Number(listening[1]);
      console.error(line);
    }
  }
  if (pending) console.error(pending);
}

let stopping = false;

function start(worker: Worker): void {
  worker.port = undefined;
  const process = new Deno.Command(DENO, {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--no-prompt",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}supabase/functions/${worker.name}/index.ts`,
    ],
    cwd: ROOT,
    env: { DENO_SERVE_ADDRESS: "tcp:127.0.0.1:0", SB_FUNCTION_NAME: worker.name },
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  worker.process = process;
  let running = true;
  const relayed = relay(worker, process, () => running)
    .catch((error) => console.error(`function ${worker.name}: its output was lost (${error})`));
  worker.relayed = relayed;
  process.status.then(async (status) => {
    running = false;
    worker.port = undefined;
    if (stopping) return;
    // After its last words, so a crash's trace comes before the restart.
    await relayed;
    console.error(`function ${worker.name} exited (${status.code}); restarting`);
    setTimeout(() => start(worker), 500);
  });
}

for (const worker of workers.values()) start(worker);

async function shutdown(): Promise<void> {
  stopping = true;
  for (const worker of workers.values()) {
    try {
      worker.process?.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  // What they write as they stop goes to the log too, for a second at most.
  const relays = [...workers.values()].map((w) => w.relayed);
  await Promise.race([Promise.all(relays), new Promise((resolve) => setTimeout(resolve, 1000))]);
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);

async function route(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/health") {
    const starting = [...workers.values()].filter((w) => w.port === undefined).map((w) => w.name);
    return Response.json({ functions: [...workers.keys()], starting }, {
      status: starting.length ? 503 : 200,
    });
  }
  const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  const worker = match ? workers.get(match[1]) : undefined;
  if (!worker) {
    return Response.json({ error: { code: "not_found", message: "no such function" } }, { status: 404 });
  }
  const path = `${match![2] ?? "/"}${url.search}`;
  const body = request.body ? await request.arrayBuffer() : undefined;
  for (let attempt = 0;; attempt++) {
    try {
      if (worker.port === undefined) throw new Error(`function ${worker.name} is starting`);
      return await fetch(`http://127.0.0.1:${worker.port}${path}`, {
        method: request.method,
        headers: request.headers,
        body,
      });
    } catch (error) {
      // A function that is still booting refuses connections for a moment; Supabase answers 503 then.
      if (attempt >= 20) {
        return Response.json({ error: { code: "boot_error", message: String(error) } }, { status: 503 });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// The port lies in the kernel's range for the local end of outgoing connections, so when the functions are
// restarted in the middle of a test run a client socket may hold it for a moment: try again for a while.
for (let attempt = 0;; attempt++) {
  try {
    Deno.serve({ hostname: "127.0.0.1", port: PORT, onListen: () => {} }, route);
    break;
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse) || attempt >= 40) throw error;
    await new Promise((r) => setTimeout(r, 200));
  }
}
console.log(`functions served at http://127.0.0.1:${PORT}/functions/v1/{${[...workers.keys()].join(",")}}`);
