import type { PathSegment } from './problems.js';

/*
 * Values Fraisier hands on without reading them itself: commands (run as argv, often `sh -c`),
 * hooks, and the Python Fraisier's `service:` and `commands:` blocks, which become systemd unit
 * settings. Their ${VAR}s may belong to whoever reads them later (systemd's
 * ${CREDENTIALS_DIRECTORY}, a hook's ${DATABASE_URL}), so an unset one is left as written there,
 * as the Python Fraisier left it. Everywhere else (secrets, URLs, paths Fraisier opens) an unset
 * ${VAR} is an error naming the key.
 */

/** Whether the value at `path` is read later by systemd or a shell rather than by Fraisier. */
export function isReadLater(path: readonly PathSegment[]): boolean {
  const keys = path.filter((segment): segment is string => typeof segment === 'string');
  if (keys[0] === 'hooks') return true;
  if (keys[0] !== 'fraises') return false;
  // fraises.<fraise>.<key>… or fraises.<fraise>.environments.<environment>.<key>…
  const [first, second, third] = keys[2] === 'environments' ? keys.slice(4) : keys.slice(2);
  switch (first) {
    case 'service':
    case 'commands':
      return true;
    case 'database':
      return second === 'hooks' || (second?.endsWith('_command') ?? false);
    case 'install':
    case 'build':
    case 'compile':
    case 'steps':
      return second === 'command';
    case 'jobs':
      return third === 'command';
    default:
      return false;
  }
}
