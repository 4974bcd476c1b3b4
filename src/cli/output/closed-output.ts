/*
 * `fraisier history | head -1`: head reads a line and exits, and the next write to the pipe fails
 * with EPIPE, which Node raises as an 'error' event on process.stdout: unhandled, a stack trace.
 * A command whose reader went away ends quietly instead, with the status a shell gives a process
 * ended by SIGPIPE (128 + 13), as `yes | head` or `git log | head` do. While this process runs a
 * deployment (local mode) it does not end: the output is dropped and the deployment runs to its
 * end, rather than being cut off mid-step for the lease sweep to find.
 */

/** 128 + SIGPIPE: what a shell reports for a writer whose reader left. */
export const OUTPUT_CLOSED = 141;

interface OutputState {
  /** Set by keepRunningIfOutputCloses: the command ends as it would have, with its own exit code. */
  keepRunning: boolean;
  exit: (code: number) => void;
}

// Keyed by the stream: process.stdout and process.stderr are the process's own, one of each.
const states = new WeakMap<NodeJS.WritableStream, OutputState>();

/**
 * Ends the process quietly (`exit(OUTPUT_CLOSED)`) when a write to one of `streams` finds its
 * reader gone; any other write error is thrown as before. Installed once per stream.
 */
export function exitQuietlyWhenOutputCloses(
  streams: NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  for (const stream of streams) {
    if (states.has(stream)) continue;
    const state: OutputState = { keepRunning: false, exit };
    states.set(stream, state);
    // Only the first failed write is reported: the stream is destroyed with it.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (!state.keepRunning) state.exit(OUTPUT_CLOSED);
    });
  }
}

/** From now on, a closed output does not end the process: what would be printed is dropped. */
export function keepRunningIfOutputCloses(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    const state = states.get(stream);
    if (state) state.keepRunning = true;
  }
}
