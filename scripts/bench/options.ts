// A benchmark's options are checked before anything runs: its wrapper script calls it with --check first, so a
// mistyped option ends with one line saying what is wrong, before the local database is reset.

/** Prints what is wrong with an option, pointing at the wrapper's --help, and exits with status 2. */
export function optionError(script: string): (message: string) => never {
  return (message) => {
    console.error(`error: ${message} (see ${script} --help)`);
    Deno.exit(2);
  };
}

/** The parsed options, or the parser's own complaint (an unknown or ambiguous option) through `fail`. */
export function parsedOr<T>(fail: (message: string) => never, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}
