// The id schema accepts exactly what Postgres' uuid input accepts, and gives Postgres' output form.
import { assertEquals } from "../testing/assert.ts";
import { idSchema } from "./id.ts";

const CANONICAL = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";

Deno.test("every spelling Postgres accepts parses, to Postgres' output form", () => {
  for (
    const spelling of [
      CANONICAL,
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "a0eebc999c0b4ef8bb6d6bb9bd380a11",
      "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
      "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
    ]
  ) {
    assertEquals(idSchema().parse(spelling), CANONICAL, spelling);
  }
});

Deno.test("ids outside RFC 4122's versions and variants parse too, as Postgres stores them", () => {
  for (
    const id of [
      "11111111-1111-1111-1111-111111111111",
      "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ]
  ) {
    assertEquals(idSchema().parse(id), id);
  }
});

Deno.test("what Postgres refuses is refused", () => {
  for (
    const bad of [
      "42",
      "",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
      "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ]
  ) {
    assertEquals(idSchema().safeParse(bad).success, false, JSON.stringify(bad));
  }
});
