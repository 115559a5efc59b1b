#!/usr/bin/env node
// Entry point of the `narrator` CLI: registers tsx so the TypeScript sources run as they are.
require("tsx/cjs");
require("../src/cli/main.ts");
