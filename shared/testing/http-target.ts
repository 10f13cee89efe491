// A tiny HTTP server for tests of the pg_net worker: it counts the requests each path receives, keeps
// their header lines, and answers with the status named in the path (/status/503/…, else 200), after the
// delay named in it (/delay/1500/…, in ms), and with header names in mixed case, written byte for byte
// (Deno.serve would lowercase them).
import net from "node:net";

export interface HttpTarget {
  url: string;
  /** Requests received per path. */
  hits(path: string): number;
  /** Header lines of the requests received on a path, in arrival order. */
  headerLines(path: string): string[][];
  close(): Promise<void>;
}

export async function startHttpTarget(): Promise<HttpTarget> {
  const received = new Map<string, string[][]>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", (data: Uint8Array) => {
      const [requestLine, ...lines] = new TextDecoder().decode(data).split("\r\n\r\n")[0].split("\r\n");
      const path = requestLine.split(" ")[1] ?? "";
      received.set(path, [...(received.get(path) ?? []), lines]);
      const status = Number(/^\/status\/(\d{3})\//.exec(path)?.[1] ?? 200);
      const delayMs = Number(/^\/delay\/(\d+)\//.exec(path)?.[1] ?? 0);
      const body = JSON.stringify({ path });
      const answer = () =>
        socket.end(
          `HTTP/1.1 ${status} Status\r\nContent-Type: application/json\r\nX-Target-Mixed-Case: yes\r\n` +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      if (delayMs > 0) {
        const timer = setTimeout(answer, delayMs);
        socket.on("close", () => clearTimeout(timer));
      } else {
        answer();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: (path) => received.get(path)?.length ?? 0,
    headerLines: (path) => received.get(path) ?? [],
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
