// npm run compile: prints the generated artefacts into compiled/.
import { writeFileSync } from 'node:fs';
import { printConfigJsonSchema, printGraphQLSchema } from '../src/compile-artifacts.js';

writeFileSync('compiled/schema.graphql', printGraphQLSchema());
writeFileSync('compiled/fraises.schema.json', printConfigJsonSchema());
console.log('wrote compiled/schema.graphql and compiled/fraises.schema.json');
