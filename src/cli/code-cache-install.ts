// Required first by every process and thread that runs the bundle (bin/tsublk, the daemon's
// `node --require`, a queue worker's stub): the bundles beside it compile through the code cache.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lendImportModule } from '../import-module.js';
import { installCodeCache } from './code-cache.js';

installCodeCache(path.dirname(fileURLToPath(import.meta.url)));
// This file is compiled by Node's own loader: its import() is one the bundles can use.
lendImportModule((url) => import(url));
