/**
 * A failure to report in one line (`lantern: <message>`) with the exit code it deserves: 1 when
 * the server said no (a refused token, a permission), 2 when the command could not run at all
 * (usage, an unreachable server, an unreadable file).
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
