// Runs the BSI csaf-validator-lib over CSAF documents: the CSAF 2.0 schema tests and all
// mandatory tests (CSAF 2.0 §6.1). Driven by rampart-formats' tests
// (crates/rampart-formats/src/vex/schema_tests.rs); `.ci/run` installs the pinned library
// with `npm ci` in this folder.
//
// Usage: node validate.mjs FILE...
// Prints one JSON line per file: {"file", "isValid", "errors": ["<test> <path>: <message>"]};
// exits 0 when every file is valid, 1 when one is not, 2 when the validator cannot run.
import { readFile } from 'node:fs/promises'
import * as schemaTests from '@secvisogram/csaf-validator-lib/schemaTests.js'
import * as mandatoryTests from '@secvisogram/csaf-validator-lib/mandatoryTests.js'
import validate from '@secvisogram/csaf-validator-lib/validate.js'

const tests = [...Object.values(schemaTests), ...Object.values(mandatoryTests)]
let allValid = true
try {
  if (process.argv.length < 3) throw new Error('no file given')
  for (const file of process.argv.slice(2)) {
    const document = JSON.parse(await readFile(file, 'utf8'))
    const result = await validate(tests, document)
    const errors = result.tests.flatMap((test) =>
      test.errors.map((e) => `${test.name} ${e.instancePath}: ${e.message}`)
    )
    allValid = allValid && result.isValid
    console.log(JSON.stringify({ file, isValid: result.isValid, tests: result.tests.length, errors }))
  }
} catch (error) {
  console.error(`csaf validator failed: ${error.stack ?? error}`)
  process.exit(2)
}
process.exit(allValid ? 0 : 1)
