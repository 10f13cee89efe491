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
  type Link = { client: Deno.Conn; server: Deno.Conn; silent: boolean };
  const links = new Set<Link>();
  const pipes = new Set<Promise<void>>();

  function end(link: Link) {
    links.delete(link);
    for (const conn of [link.client, link.server]) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  // Either side ending ends both, as a TCP peer sees its other end close.
  async function pipe(from: Deno.Conn, to: Deno.Conn, link: Link) {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        if (link.silent) continue;
        for (let sent = 0; sent < n;) sent += await to.write(buffer.subarray(sent, n));
      }
    } catch {
      // The other direction or close() ended it.
    } finally {
      end(link);
    }
  }

  function track(work: Promise<void>) {
    pipes.add(work);
    work.finally(() => pipes.delete(work));
  }

  async function open(client: Deno.Conn) {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
    } catch {
      client.close();
      return;
    }
    const link = { client, server, silent: false };
    links.add(link);
    track(pipe(client, server, link));
    track(pipe(server, client, link));
  }

  const accepting = (async () => {
    try {
      for await (const client of listener) track(open(client));
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
      for (const link of [...links]) end(link);
      await accepting;
      while (pipes.size > 0) await Promise.all([...pipes]);
    },
  };
}
