// Structured logs for the functions: one JSON line per event, named like the observability events.
// Only identifiers, counts and codes go in; never names, e-mail addresses or phone numbers. Messages and the
// fields' text pass through the same scrubber the database uses, as a last line of defence for free text
// such as errors.
import { scrub } from "./personal-data.ts";

export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

export interface Logger {
  info(source: string, message: string, fields?: LogFields): void;
  warn(source: string, message: string, fields?: LogFields): void;
  error(source: string, message: string, fields?: LogFields): void;
}

export function consoleLogger(write: (line: string) => void = console.log): Logger {
  const emit = (level: string) => (source: string, message: string, fields: LogFields = {}) =>
    write(JSON.stringify({ level, source, message: scrub(message), ...scrubFields(fields) }));
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function scrubFields(fields: LogFields): LogFields {
  return Object.fromEntries(
    Object.entries(fields).map((
      [key, value],
    ) => [key, typeof value === "string" ? scrub(value) : Array.isArray(value) ? value.map(scrub) : value]),
  );
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
