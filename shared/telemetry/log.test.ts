// A log line never carries an e-mail address or a phone number, whether it came in the message or in a field.
import { assertEquals } from "../testing/assert.ts";
import { consoleLogger } from "./log.ts";
import { findPersonalData } from "./personal-data.ts";

Deno.test("messages and fields alike are scrubbed of personal data; ids and counts are kept", () => {
  const lines: string[] = [];
  consoleLogger((line) => lines.push(line)).error("notifications", "send to ada@example.com failed", {
    booking_id: "0b0e0000-0000-4000-8000-000000000001",
    reason: "mailer refused +44 20 7946 0958",
    recipients: ["ada@example.com"],
    attempts: 3,
  });
  assertEquals(lines.length, 1);
  assertEquals(findPersonalData(lines[0]), [], lines[0]);
  const logged = JSON.parse(lines[0]);
  assertEquals([logged.booking_id, logged.attempts], ["0b0e0000-0000-4000-8000-000000000001", 3]);
});
