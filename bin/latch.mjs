#!/usr/bin/env node
// The `latch` command: runs src/cli/main.ts through tsx, wherever it is called from.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli/main.ts', import.meta.url).href);
