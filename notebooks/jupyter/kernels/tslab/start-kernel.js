// Starts the notebooks' kernel (src/notebooks/kernel.ts): tsx first, so that Node loads the
// library's TypeScript, then tslab with the project's TypeScript compiler.
const path = require("node:path");
const root = path.resolve(__dirname, "..", "..", "..", "..");
require(require.resolve("tsx/cjs", { paths: [root] }));
require(path.join(root, "src", "notebooks", "kernel.ts")).startKernel(process.argv.slice(2));
