#!/usr/bin/env node
// The install command of the dashboard test's service: while the file named by argv[2] exists,
// the step waits (so the test can look at a deployment halfway); without it, it passes at once.
import { existsSync } from 'node:fs';

const file = process.argv[2];
if (existsSync(file)) {
  console.log('holding until the test lets go');
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(file)) return;
      clearInterval(timer);
      resolve();
    }, 20);
  });
  console.log('released');
}
console.log(`installed ${process.env.FRAISIER_COMMIT ?? ''}`.trim());
