// The environment both functions share: one secret rule, one tolerance policy.
import { assert, assertEquals } from "../testing/assert.ts";
import { loadSharedConfig, parseFlag } from "./env.ts";

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => void warnings.push(m) };
}

const SECRET = { ASSIGNMENT_PIPELINE_SECRET: "s".repeat(32) };

Deno.test("flags read true/false, 1/0, yes/no, on/off and enabled/disabled in any case", () => {
  const { warnings, warn } = collect();
  for (const raw of ["true", "TRUE", "True", " 1 ", "yes", "YES", "on", " On", "enabled", "ENABLED"]) {
    assertEquals(parseFlag("F", raw, warn), true, raw);
  }
  for (const raw of ["false", "FALSE", "0", "no", "No ", "off", "OFF", "disabled", " Disabled "]) {
    assertEquals(parseFlag("F", raw, warn), false, raw);
  }
  assertEquals(parseFlag("F", undefined, warn), undefined);
  assertEquals(parseFlag("F", "  ", warn), undefined);
  assertEquals(parseFlag("F", "", warn, false), undefined, "unset stays unset, even with a safe side");
  assertEquals(warnings, [], "valid and unset values raise no warning");
});

Deno.test("an unreadable flag is reported once and ignored, never thrown", () => {
  const { warnings, warn } = collect();
  assertEquals(parseFlag("FEATURE_ASSIGNMENT_PIPELINE_V3", "maybe", warn), undefined);
  assertEquals(warnings.length, 1);
  assertEquals(warnings[0].startsWith('FEATURE_ASSIGNMENT_PIPELINE_V3="maybe" is not'), true, warnings[0]);
});

Deno.test("an unreadable flag with a safe side takes it, reported as an error that says so", () => {
  const reports: [string, string | undefined][] = [];
  const value = parseFlag("KILL", "nope", (message, level) => void reports.push([message, level]), false);
  assertEquals(value, false);
  assertEquals(reports.length, 1);
  assertEquals(reports[0][1], "error");
  assert(reports[0][0].includes("treated as false"), reports[0][0]);
});

Deno.test("the secret is required and at least 16 characters, with a message naming it", () => {
  for (
    const env of [{}, { ASSIGNMENT_PIPELINE_SECRET: "" }, { ASSIGNMENT_PIPELINE_SECRET: "fifteen-chars-x" }]
  ) {
    let message = "";
    try {
      loadSharedConfig(env, () => {});
    } catch (e) {
      message = String(e);
    }
    assert(/ASSIGNMENT_PIPELINE_SECRET (is not set|must be at least 16 characters)/.test(message), message);
  }
  assertEquals(
    loadSharedConfig({ ASSIGNMENT_PIPELINE_SECRET: "sixteen-chars-xx" }).secret,
    "sixteen-chars-xx",
  );
});

Deno.test("the previous secret of a rotation is optional, and held to the secret's rule when set", () => {
  const previous = (value?: string) =>
    loadSharedConfig({ ...SECRET, ASSIGNMENT_PIPELINE_SECRET_PREVIOUS: value }, () => {}).previousSecret;
  assertEquals(
    [previous(undefined), previous(""), previous("  ")],
    [null, null, null],
    "unset or blank: none",
  );
  assertEquals(previous("the-secret-being-rotated"), "the-secret-being-rotated");
  const warnings: string[] = [];
  loadSharedConfig(
    {
      ...SECRET,
      NOTIFICATION_SENDER: "log",
      ASSIGNMENT_PIPELINE_SECRET_PREVIOUS: "the-secret-being-rotated",
    },
    (m) => warnings.push(m),
  );
  assertEquals(warnings.length, 1, "each start says it is set, so it is not forgotten");
  assert(
    warnings[0].includes("unset it once no nudge signed with the old one can still arrive"),
    warnings[0],
  );
  for (
    const [value, expected] of [
      ["too-short", "at least 16 characters"],
      ["the-secret-being-rotated\n", "white space"],
      [SECRET.ASSIGNMENT_PIPELINE_SECRET, "the same as ASSIGNMENT_PIPELINE_SECRET"],
    ]
  ) {
    let message = "";
    try {
      previous(value);
    } catch (e) {
      message = String(e);
    }
    assert(message.includes("ASSIGNMENT_PIPELINE_SECRET_PREVIOUS") && message.includes(expected), message);
  }
});

Deno.test("a secret that begins or ends with white space, which no request could carry, is refused", () => {
  for (const secret of ["sixteen-chars-xx\n", " sixteen-chars-xx", "\tsixteen-chars-xx", " ".repeat(20)]) {
    let message = "";
    try {
      loadSharedConfig({ ASSIGNMENT_PIPELINE_SECRET: secret }, () => {});
    } catch (e) {
      message = String(e);
    }
    assert(message.includes("begins or ends with white space"), `${JSON.stringify(secret)}: ${message}`);
  }
  assertEquals(
    loadSharedConfig({ ASSIGNMENT_PIPELINE_SECRET: "sixteen chars xx" }).secret,
    "sixteen chars xx",
  );
});

Deno.test("NOTIFICATION_SENDER picks log, sink or webhook with what each needs", () => {
  const { warnings, warn } = collect();
  assertEquals(loadSharedConfig({ ...SECRET, NOTIFICATION_SENDER: "log" }, warn).sender, { kind: "log" });
  assertEquals(
    loadSharedConfig({ ...SECRET, NOTIFICATION_SENDER: "sink", NOTIFICATION_SINK_FILE: "/tmp/x" }, warn)
      .sender,
    { kind: "sink", file: "/tmp/x" },
  );
  assertEquals(
    loadSharedConfig(
      { ...SECRET, NOTIFICATION_SENDER: "webhook", NOTIFICATION_WEBHOOK_URL: "https://m" },
      warn,
    )
      .sender,
    { kind: "webhook", url: "https://m", token: undefined },
  );
  // What fetch sends as it is (an inner space, a Latin-1 letter) is kept.
  for (const token of ["two words", "caf\u00E9"]) {
    assertEquals(
      loadSharedConfig(
        {
          ...SECRET,
          NOTIFICATION_SENDER: "webhook",
          NOTIFICATION_WEBHOOK_URL: "https://m",
          NOTIFICATION_WEBHOOK_TOKEN: token,
        },
        warn,
      ).sender,
      { kind: "webhook", url: "https://m", token },
    );
  }
  // A token pasted with a line break around it is trimmed, as the URL is.
  assertEquals(
    loadSharedConfig(
      {
        ...SECRET,
        NOTIFICATION_SENDER: "webhook",
        NOTIFICATION_WEBHOOK_URL: "https://m",
        NOTIFICATION_WEBHOOK_TOKEN: " k3y_-.~+/= \n",
      },
      warn,
    ).sender,
    { kind: "webhook", url: "https://m", token: "k3y_-.~+/=" },
  );
  assertEquals(warnings, []);
});

Deno.test("an unusable NOTIFICATION_SENDER is reported with its reason, never thrown", () => {
  const { warnings, warn } = collect();
  const unset =
    "NOTIFICATION_SENDER is not set (webhook with NOTIFICATION_WEBHOOK_URL to send confirmations, " +
    "or log to only log them)";
  const cases = [
    [{ NOTIFICATION_SENDER: "smtp" }, 'NOTIFICATION_SENDER must be sink, webhook or log, not "smtp"'],
    // A secret pasted into the wrong variable is not repeated in the answer pg_net keeps.
    ...["sk_live_51HxQ2p", "Hunter-Two_Secret", "webhook "].map((value) =>
      [
        { NOTIFICATION_SENDER: value },
        "NOTIFICATION_SENDER must be sink, webhook or log, not the value set",
      ] as const
    ),
    // Not a silent `log`, which would mark every confirmation sent while none went out.
    [{}, unset],
    [{ NOTIFICATION_SENDER: "" }, unset],
    [{ NOTIFICATION_SENDER: "sink" }, "NOTIFICATION_SENDER=sink needs NOTIFICATION_SINK_FILE"],
    [{ NOTIFICATION_SENDER: "webhook" }, "NOTIFICATION_SENDER=webhook needs NOTIFICATION_WEBHOOK_URL"],
    [
      { NOTIFICATION_SENDER: "webhook", NOTIFICATION_WEBHOOK_URL: "mailer.example.com/send" },
      "NOTIFICATION_WEBHOOK_URL must be an http(s) URL",
    ],
    [
      { NOTIFICATION_SENDER: "webhook", NOTIFICATION_WEBHOOK_URL: "ftp://mailer.example.com" },
      "NOTIFICATION_WEBHOOK_URL must be an http(s) URL",
    ],
    ...["key\u201Cpasted\u201D", "line\nbreak", "nul\0", "escape\x1b[0m", "del\x7f"].map((token) =>
      [
        {
          NOTIFICATION_SENDER: "webhook",
          NOTIFICATION_WEBHOOK_URL: "https://m",
          NOTIFICATION_WEBHOOK_TOKEN: token,
        },
        "NOTIFICATION_WEBHOOK_TOKEN has a character an HTTP header cannot carry " +
        "(a control character such as a line break or an escape, or one beyond Latin-1 such as a typographic quote)",
      ] as const
    ),
  ] as const;
  for (const [env, problem] of cases) {
    assertEquals(loadSharedConfig({ ...SECRET, ...env }, warn).sender, { kind: "unusable", problem });
  }
  assertEquals(warnings.length, cases.length);
  assert(warnings[0].startsWith('NOTIFICATION_SENDER must be sink, webhook or log, not "smtp"'), warnings[0]);
});

Deno.test("a webhook over plain http to another host is used, with a warning; https and this machine are not warned of", () => {
  const { warnings, warn } = collect();
  const sender = (url: string) =>
    loadSharedConfig({ ...SECRET, NOTIFICATION_SENDER: "webhook", NOTIFICATION_WEBHOOK_URL: url }, warn)
      .sender;
  assertEquals(sender("http://mailer.example.com/send"), {
    kind: "webhook",
    url: "http://mailer.example.com/send",
    token: undefined,
  });
  assertEquals(warnings.length, 1);
  assert(warnings[0].includes("unencrypted"), warnings[0]);
  for (
    const url of ["https://mailer.example.com/send", "http://127.0.0.1:9000/send", "http://localhost/send"]
  ) {
    sender(url);
  }
  assertEquals(warnings.length, 1, "no warning for https or loopback");
});

Deno.test("a webhook token is refused at start exactly when fetch would refuse to send it", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
  const url = `http://127.0.0.1:${server.addr.port}/`;
  try {
    const mismatches: string[] = [];
    // Every character up to Latin-1's end, and some beyond it, inside a token (the ends are trimmed).
    for (const code of [...Array(0x180).keys(), 0x2019, 0x201C, 0xFEFF]) {
      const token = `a${String.fromCharCode(code)}b`;
      const sender = loadSharedConfig({
        ...SECRET,
        NOTIFICATION_SENDER: "webhook",
        NOTIFICATION_WEBHOOK_URL: url,
        NOTIFICATION_WEBHOOK_TOKEN: token,
      }, () => {}).sender;
      const sent = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
        .then(async (r) => (await r.body?.cancel(), true), () => false);
      if ((sender.kind === "webhook") !== sent) mismatches.push(`U+${code.toString(16).padStart(4, "0")}`);
    }
    assertEquals(mismatches, []);
  } finally {
    await server.shutdown();
  }
});
