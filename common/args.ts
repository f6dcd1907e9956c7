// Command lines of the CLI and the daemons: node:util parseArgs in strict mode, so an unknown
// or misspelt flag is an error (exit 64 with the usage), never silently ignored.
import { parseArgs } from 'node:util';

/** Exit code for a bad command line (sysexits EX_USAGE). */
export const EX_USAGE = 64;

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Strict parse; errors become a one-line UsageError ("unknown option --bogus"). */
export function parseCommandLine(
  argv: string[],
  options: OptionSpec,
  allowPositionals = true,
): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals }) as { values: OptionValues; positionals: string[] };
  } catch (err) {
    const e = err as Error & { code?: string };
    const unknown = /Unknown option '([^']+)'/.exec(e.message);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]}`);
    throw new UsageError(e.message.split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
}

/**
 * A daemon's command line: `--config FILE`, `--help`, `--version`. Help and version print and exit 0
 * (nothing else happens); a bad or missing argument prints the usage and exits 64.
 */
export function daemonConfigPath(program: string, version: string, argv: string[]): string {
  const usage = `usage: ${program} --config <file.yaml>\n       ${program} --help | --version`;
  const fail = (why: string): never => {
    process.stderr.write(`${program}: ${why}\n${usage}\n`);
    process.exit(EX_USAGE);
  };
  let values: OptionValues;
  try {
    ({ values } = parseCommandLine(
      argv,
      { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      false,
    ));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (values.version) {
    process.stdout.write(`${program} ${version}\n`);
    process.exit(0);
  }
  if (typeof values.config !== 'string' || values.config === '') return fail('--config is required');
  return values.config as string;
}
