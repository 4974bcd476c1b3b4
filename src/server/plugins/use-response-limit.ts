import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/*
 * An answer larger than the limit is replaced by an error saying so, over HTTP and over
 * graphql-ws alike: never sent, and never cut into invalid JSON. The cost limit keeps most
 * answers far below it; this catches the rest (a thousand progress lines of long command output).
 */

export interface ResponseLimitOptions {
  /** The largest answer, in bytes of JSON. */
  maxBytes: number;
  /** Where the limit is set, named in the error. */
  setting: string;
}

export function useResponseLimit(options: ResponseLimitOptions): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          // Incremental delivery (@defer, @stream) is not enabled: every answer is one result.
          if (isAsyncIterable(result)) return;
          const bytes = Buffer.byteLength(JSON.stringify(result));
          if (bytes <= options.maxBytes) return;
          setResult({
            errors: [
              new GraphQLError(
                `the answer would be ${size(bytes)}, over the limit of ${size(options.maxBytes)} (${options.setting}): ` +
                  'select fewer fields or aliases, or ask for smaller pages with "limit"',
                { extensions: { code: 'BAD_USER_INPUT', bytes, maxBytes: options.maxBytes } },
              ),
            ],
          });
        },
      };
    },
  };
}

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB (${bytes.toLocaleString('en-US')} bytes)`;
  return `${bytes.toLocaleString('en-US')} bytes`;
}
