// The environment both pipeline functions read (Supabase function secrets are per project, so the
// coordinator and the notification dispatcher see the same values), and the one policy for reading it:
//   - a setting a function cannot do its job without (the pipeline secret; the coordinator's strategy and
//     limits) fails at start with a message that names it;
//   - a setting that only switches something optional (the rollout flags, the notification sender) never
//     stops a function from starting: a value it cannot read is reported and ignored, or, for a kill switch,
//     taken as its safe side and reported as an error (see parseFlag). A function
//     that fails at module load turns every booking into `coordinator_unreachable`, so a typo in, say,
//     NOTIFICATION_SENDER must not take the coordinator down; the dispatcher answers its requests with the
//     problem instead, and the notifications stay queued until it is fixed.
import { z } from "../deps.ts";

export type Env = Record<string, string | undefined>;
/** Reports a setting that was not used as written; "error" when the fallback changes what runs. */
export type Warn = (message: string, level?: "warn" | "error") => void;

export const consoleWarn: Warn = (message, level = "warn") =>
  console[level](JSON.stringify({ level, source: "config", message }));

// The spellings operators reach for when pulling or setting a flag (on/off, enabled/disabled included).
const TRUE = new Set(["true", "1", "yes", "on", "enabled"]);
const FALSE = new Set(["false", "0", "no", "off", "disabled"]);
const SPELLINGS = "true/false, 1/0, yes/no, on/off or enabled/disabled";

/**
 * A boolean flag: true/false, 1/0, yes/no, on/off, enabled/disabled in any case, surrounding spaces ignored.
 * Unset or empty is undefined. Anything else is reported through `warn` and treated as unset, unless the
 * caller gives `failSafe`: then it is that value, reported as an error. A kill switch passes its safe side,
 * so that a value pulled in a hurry in a spelling this does not know cannot leave the feature on.
 */
export function parseFlag(
  name: string,
  raw: string | undefined,
  warn: Warn,
  failSafe?: boolean,
): boolean | undefined {
  const value = raw?.trim().toLowerCase() ?? "";
  if (value === "") return undefined;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  const problem = `${name}=${JSON.stringify(raw)} is not ${SPELLINGS}`;
  if (failSafe === undefined) warn(`${problem}; ignored (treated as unset)`);
  else warn(`${problem}; treated as ${failSafe} (its safe side) until it is fixed`, "error");
  return failSafe;
}

/** A pipeline secret's rule, named for its variable: at least 16 characters, no white space at either end. */
const secretRule = (name: string) =>
  z.string({ message: `${name} is not set` })
    .min(16, `${name} must be at least 16 characters`)
    // HTTP trims a header's value, so such a secret could never be matched: every call would be refused.
    .refine(
      (secret) => secret === secret.trim(),
      `${name} begins or ends with white space (a newline left by the file it came from?)`,
    );

/** The shared secret pg_net and the sweeper send as bearer token; required, the same rule for both functions. */
const secretSchema = secretRule("ASSIGNMENT_PIPELINE_SECRET");

/** Where confirmations go (NOTIFICATION_SENDER and its companions). */
export type SenderSetting =
  | { readonly kind: "log" }
  | { readonly kind: "sink"; readonly file: string }
  | { readonly kind: "webhook"; readonly url: string; readonly token?: string }
  | { readonly kind: "unusable"; readonly problem: string };

/**
 * NOTIFICATION_SENDER: webhook, log or sink; none set, or a value that cannot be used, is reported, not thrown.
 * None set is not taken for `log`: a deployment that forgot its mailer would mark every confirmation sent
 * while no guest heard of it, where unusable keeps them queued until the sender is set.
 */
export function parseSender(env: Env, warn: Warn): SenderSetting {
  const setting = senderSetting(env);
  if (setting.kind === "unusable") warn(`${setting.problem}; notifications stay queued until it is fixed`);
  // Each message posts the guest's address and name: in clear text to anything but this machine.
  if (setting.kind === "webhook" && isPlainHttpElsewhere(setting.url)) {
    warn(
      "NOTIFICATION_WEBHOOK_URL is plain http to another host: guests' addresses and names cross the network unencrypted; use https",
    );
  }
  return setting;
}

function isPlainHttpElsewhere(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(hostname);
}

/** A control character but tab, DEL, or one beyond Latin-1: fetch refuses a header value holding one. */
function unfitForAHeader(character: string): boolean {
  const code = character.codePointAt(0)!;
  return (code < 0x20 && code !== 0x09) || code === 0x7F || code > 0xFF;
}

const TOKEN_PROBLEM = "NOTIFICATION_WEBHOOK_TOKEN has a character an HTTP header cannot carry " +
  "(a control character such as a line break or an escape, or one beyond Latin-1 such as a typographic quote)";

function senderSetting(env: Env): SenderSetting {
  switch (env.NOTIFICATION_SENDER) {
    case undefined:
    case "":
      return {
        kind: "unusable",
        problem:
          "NOTIFICATION_SENDER is not set (webhook with NOTIFICATION_WEBHOOK_URL to send confirmations, " +
          "or log to only log them)",
      };
    case "log":
      return { kind: "log" };
    case "sink":
      return env.NOTIFICATION_SINK_FILE
        ? { kind: "sink", file: env.NOTIFICATION_SINK_FILE }
        : { kind: "unusable", problem: "NOTIFICATION_SENDER=sink needs NOTIFICATION_SINK_FILE" };
    case "webhook": {
      const url = env.NOTIFICATION_WEBHOOK_URL?.trim();
      if (!url) {
        return { kind: "unusable", problem: "NOTIFICATION_SENDER=webhook needs NOTIFICATION_WEBHOOK_URL" };
      }
      // A typo here would fail every send for hours before the messages went dead: refused at start instead.
      if (!URL.canParse(url) || !["https:", "http:"].includes(new URL(url).protocol)) {
        return { kind: "unusable", problem: "NOTIFICATION_WEBHOOK_URL must be an http(s) URL" };
      }
      // Sent as a header: a character fetch refuses there (a control character but tab, such as a line break
      // or a terminal's escape pasted with it; a typographic quote beyond Latin-1) would fail every send
      // before it left, and such a failure counts as perhaps received. Trimmed like the URL, as fetch trims a
      // header.
      const token = env.NOTIFICATION_WEBHOOK_TOKEN?.trim() || undefined;
      if (token !== undefined && [...token].some(unfitForAHeader)) {
        return { kind: "unusable", problem: TOKEN_PROBLEM };
      }
      return { kind: "webhook", url, token };
    }
    default:
      return {
        kind: "unusable",
        // The problem travels in the dispatcher's answer, which pg_net keeps where other roles can read it:
        // only a value that reads like a sender's name (a short lowercase word, "smtp") is repeated, never one
        // that could be a secret pasted into the wrong variable.
        problem: `NOTIFICATION_SENDER must be sink, webhook or log, not ${
          /^[a-z]{1,12}$/.test(env.NOTIFICATION_SENDER)
            ? JSON.stringify(env.NOTIFICATION_SENDER)
            : "the value set"
        }`,
      };
  }
}

/**
 * During a rotation, the secret being replaced: nudges Vault still signs with it are accepted until it is
 * unset. Optional; blank is unset; otherwise the same rule as the secret.
 */
const previousSecretSchema = z.preprocess(
  (raw) => (typeof raw === "string" && raw.trim() === "" ? undefined : raw),
  secretRule("ASSIGNMENT_PIPELINE_SECRET_PREVIOUS").optional(),
);

/** What both functions need: the secrets that authenticate their callers, and where confirmations go. */
export interface SharedConfig {
  readonly secret: string;
  /** The secret a rotation replaces (ASSIGNMENT_PIPELINE_SECRET_PREVIOUS); null when none is being rotated. */
  readonly previousSecret?: string | null;
  readonly sender: SenderSetting;
}

export function loadSharedConfig(env: Env, warn: Warn = consoleWarn): SharedConfig {
  const secrets = z.object({
    ASSIGNMENT_PIPELINE_SECRET: secretSchema,
    ASSIGNMENT_PIPELINE_SECRET_PREVIOUS: previousSecretSchema,
  }).refine((s) => s.ASSIGNMENT_PIPELINE_SECRET_PREVIOUS !== s.ASSIGNMENT_PIPELINE_SECRET, {
    // A mistyped rotation: nudges still signed with the old secret would all be refused.
    message:
      "ASSIGNMENT_PIPELINE_SECRET_PREVIOUS is the same as ASSIGNMENT_PIPELINE_SECRET: set it to the secret being replaced (Vault's assignment_pipeline_secret until you change it there)",
  }).parse(env);
  if (secrets.ASSIGNMENT_PIPELINE_SECRET_PREVIOUS !== undefined) {
    warn(
      "ASSIGNMENT_PIPELINE_SECRET_PREVIOUS is set, so nudges signed with the old secret are accepted: unset it once no nudge signed with the old one can still arrive (docs/configuration.md, rotating the secret, step 4)",
    );
  }
  return {
    secret: secrets.ASSIGNMENT_PIPELINE_SECRET,
    previousSecret: secrets.ASSIGNMENT_PIPELINE_SECRET_PREVIOUS ?? null,
    sender: parseSender(env, warn),
  };
}
