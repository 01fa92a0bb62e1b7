#!/usr/bin/env node
// Builds one schema per provider from prisma/<provider>/header.prisma + prisma/models.prisma
// and runs `prisma generate` for each, so both clients come from one model definition.
// Prisma 7 resolves its schema engine even for `generate`; the engine is a download this
// project never needs (migrations are applied by backend/src/db/migrator.ts), so any
// existing file satisfies the lookup when the variable is not set.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const models = fs.readFileSync(path.join(root, 'prisma/models.prisma'), 'utf8');
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
env.CHECKPOINT_DISABLE = '1';

for (const provider of ['sqlite', 'mysql']) {
  const dir = path.join(root, 'prisma', provider);
  const header = fs.readFileSync(path.join(dir, 'header.prisma'), 'utf8');
  const schema = path.join(dir, 'schema.prisma');
  fs.writeFileSync(
    schema,
    `// GENERATED from header.prisma + ../models.prisma: edit those.\n${header}\n${models}`,
  );
  execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate', '--schema', schema], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
}
