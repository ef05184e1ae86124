#!/usr/bin/env node
// The `conveyor` command. A committed shim, so npm can link the bin before the
// build has run; the CLI itself is compiled TypeScript.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv);
