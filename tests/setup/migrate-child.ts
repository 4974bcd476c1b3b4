// Applies the migrations to the store named on the command line (used to migrate from two
// processes at once). Prints the migrations this process applied, as JSON.
import { createStore } from '../../src/store/store.js';

const store = createStore(process.argv[2]!, { poolSize: 2 });
try {
  console.log(JSON.stringify(await store.migrate()));
} finally {
  await store.close();
}
