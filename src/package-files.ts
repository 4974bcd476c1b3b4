import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Files Fraisier ships beside its code (the dashboard's pages, the init template, the example
 * configuration), found from wherever the code runs: the sources through tsx (src/...), tsc's
 * output (dist/src/...) or the bundle (dist/bundle/<chunk>.js), in a clone or an installed package.
 */

const HERE = dirname(fileURLToPath(import.meta.url));

/** The package's root: the nearest directory above this module with a package.json. */
export const PACKAGE_ROOT = packageRoot(HERE);

/** Where built code finds the files beside its sources: the build copies them under dist/. */
const BUILT = relative(PACKAGE_ROOT, HERE).split(sep)[0] === 'dist';

/** A file given by its place in the sources (`src/server/dashboard/public`), where the running code has it. */
export function sourceFile(path: string): string {
  return BUILT ? join(PACKAGE_ROOT, 'dist', path) : join(PACKAGE_ROOT, path);
}

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
