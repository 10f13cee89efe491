// One queued request performed the way pg_net's curl handle performs it, and the row pg_net records for
// it in net._http_response. node:http rather than fetch because fetch lowercases header names, and pg_net
// records them as the server sent them (`Content-Type`, not `content-type`).
import http from "node:http";
import https from "node:https";

export interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, unknown> | null;
  body: Uint8Array | null;
  timeout_milliseconds: number;
}

export interface ResponseRow {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

const USER_AGENT = "pg_net/0.20.4";
const MAX_REDIRECTS = 30; // curl's default limit
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Exchange {
  status: number;
  /** Header names and values in the order and case the server sent them. */
  rawHeaders: string[];
  body: Uint8Array;
}

class CurlError extends Error {}

/** Request headers as curl sends them: pg_net's (values as text) plus its User-Agent, and curl's defaults. */
function requestHeaders(request: QueuedRequest): Record<string, string> {
  // NULL headers: pg_net hands curl no header list at all, so not even its User-Agent.
  const headers: Record<string, string> = {};
  if (request.headers !== null) {
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== null) headers[name] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  const has = (name: string) => Object.keys(headers).some((n) => n.toLowerCase() === name);
  if (request.headers !== null && !has("user-agent")) headers["User-Agent"] = USER_AGENT;
  if (!has("accept")) headers["Accept"] = "*/*";
  if (request.method.toUpperCase() === "POST" && request.body && !has("content-type")) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  return headers;
}

function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | null,
  signal: AbortSignal,
): Promise<Exchange> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new CurlError("Unsupported protocol"));
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const sent = { ...headers };
    if (body || method === "POST") sent["Content-Length"] = String(body?.length ?? 0);
    const req = client.request(url, { method, headers: sent }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        chunks.reduce((offset, c) => (all.set(c, offset), offset + c.length), 0);
        resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: all });
      });
    });
    req.on("error", reject);
    signal.addEventListener("abort", () => req.destroy(signal.reason), { once: true });
    req.end(body ?? undefined);
  });
}

function headerObject(rawHeaders: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]] = rawHeaders[i + 1];
  return headers;
}

function headerValue(rawHeaders: string[], name: string): string | null {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) return rawHeaders[i + 1];
  }
  return null;
}

/** curl_easy_strerror's wording for the failures a local stack meets. */
function curlMessage(error: unknown): string {
  if (error instanceof CurlError) return error.message;
  const code = (error as { code?: string }).code ?? "";
  if (["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"].includes(code)) {
    return "Couldn't connect to server";
  }
  if (code === "ENOTFOUND" || code.startsWith("EAI_")) return "Couldn't resolve host name";
  return "Failure when receiving data from the peer";
}

/** Performs one request (following redirects, as pg_net asks curl to) and never throws. */
export async function perform(request: QueuedRequest): Promise<ResponseRow> {
  const started = performance.now();
  const signal = AbortSignal.timeout(request.timeout_milliseconds);
  const failed = (timedOut: boolean, message: string): ResponseRow => ({
    id: request.id,
    status_code: null,
    content_type: null,
    headers: null,
    content: null,
    timed_out: timedOut,
    error_msg: message,
  });
  try {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return failed(false, "URL using bad/illegal format or missing URL");
    }
    let method = request.method.toUpperCase();
    let body = request.body ? new Uint8Array(request.body) : null;
    let headers = requestHeaders(request);
    let first: Exchange | null = null;
    for (let hop = 0;; hop++) {
      const response = await exchange(url, method, headers, body, signal);
      first ??= response;
      const location = headerValue(response.rawHeaders, "location");
      if (!REDIRECTS.has(response.status) || location === null || hop === MAX_REDIRECTS) {
        // Status, type and body come from the last response; pg_net reads the header list of the first.
        const text = new TextDecoder().decode(response.body).split("\0")[0];
        return {
          id: request.id,
          status_code: response.status,
          content_type: headerValue(response.rawHeaders, "content-type"),
          headers: headerObject(first.rawHeaders),
          content: text === "" ? null : text,
          timed_out: false,
          error_msg: null,
        };
      }
      const next = new URL(location, url);
      if (next.host !== url.host) {
        // curl does not carry credentials to another host.
        headers = Object.fromEntries(
          Object.entries(headers).filter(([n]) => !["authorization", "cookie"].includes(n.toLowerCase())),
        );
      }
      if (
        response.status === 303 || (method === "POST" && response.status !== 307 && response.status !== 308)
      ) {
        method = "GET";
        body = null;
      }
      url = next;
    }
  } catch (error) {
    if (signal.aborted) {
      const total = (performance.now() - started).toFixed(0);
      return failed(true, `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${total} ms`);
    }
    return failed(false, curlMessage(error));
  }
}
