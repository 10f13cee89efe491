// A TCP proxy in front of the local database whose open connections can be made to go silent: what a
// network fault or a restarted connection pooler leaves behind, a socket still open that never answers,
// while new connections get through.

export interface SilencingProxy {
  /** The URL of `url`'s database through the proxy. */
  url: string;
  /** From now on the connections open now pass nothing either way, and stay open. */
  silenceOpenConnections(): void;
  close(): Promise<void>;
}

export function silencingProxy(url: string): SilencingProxy {
  const target = new URL(url);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const links = new Set<{ client: Deno.Conn; server: Deno.Conn; silent: boolean }>();
  const pipes: Promise<void>[] = [];

  async function pipe(from: Deno.Conn, to: Deno.Conn, link: { silent: boolean }) {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        if (link.silent) continue;
        for (let sent = 0; sent < n;) sent += await to.write(buffer.subarray(sent, n));
      }
    } catch {
      // The other end or close() ended it.
    }
  }

  const accepting = (async () => {
    try {
      for await (const client of listener) {
        const server = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
        const link = { client, server, silent: false };
        links.add(link);
        pipes.push(pipe(client, server, link), pipe(server, client, link));
      }
    } catch {
      // Closed.
    }
  })();

  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String((listener.addr as Deno.NetAddr).port);
  return {
    url: proxied.toString(),
    silenceOpenConnections() {
      for (const link of links) link.silent = true;
    },
    async close() {
      listener.close();
      for (const { client, server } of links) {
        for (const conn of [client, server]) {
          try {
            conn.close();
          } catch {
            // Already closed by its other end.
          }
        }
      }
      await accepting;
      await Promise.all(pipes);
    },
  };
}
