// Errors meant for the user: one line, a non-zero exit code, no stack.

export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** Exit code of a command that could not be found, as shells use. */
export const EXIT_NOT_FOUND = 127;
