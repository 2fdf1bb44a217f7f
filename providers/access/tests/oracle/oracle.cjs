// Differential-test oracle: reads cloudscan simulate cases (JSON Lines) on stdin and writes one
// JSON line per case on stdout: {"decision": ...} or {"error": ...}. It only drives the
// @cloud-copilot/iam-simulate package (AGPL) as a separate process; nothing of it is linked
// into cloudscan.
'use strict';
const readline = require('readline');
const { runSimulation } = require('@cloud-copilot/iam-simulate');

function doc(d) {
  return typeof d === 'string' ? JSON.parse(d) : d;
}

function accountOf(arn) {
  const parts = String(arn).split(':');
  return parts.length >= 6 && /^\d{12}$/.test(parts[4]) ? parts[4] : undefined;
}

function toSimulation(c) {
  const req = c.request;
  const account = req.resource_account || accountOf(req.resource) || accountOf(req.principal);
  const sim = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: account },
      contextVariables: req.context || {}
    },
    identityPolicies: (c.identity_policies || []).map((p, i) => ({ name: `identity-${i}`, policy: doc(p) })),
    serviceControlPolicies: (c.scps || []).map((level, i) => ({
      orgIdentifier: `level-${i}`,
      policies: level.map((p, j) => ({ name: `scp-${i}-${j}`, policy: doc(p) }))
    })),
    resourceControlPolicies: []
  };
  if (c.permission_boundary) sim.permissionBoundaryPolicies = [{ name: 'boundary', policy: doc(c.permission_boundary) }];
  if (c.resource_policy) sim.resourcePolicy = doc(c.resource_policy);
  if (c.session_policy) sim.sessionPolicy = doc(c.session_policy);
  return sim;
}

async function evaluate(line) {
  try {
    const r = await runSimulation(toSimulation(JSON.parse(line)), { simulationMode: "Strict" });
    if (r.resultType === 'error') return { error: JSON.stringify(r.errors) };
    const out = { decision: r.overallResult };
    if (r.resultType === 'single' && r.result.analysis.blockedBy) out.blockedBy = r.result.analysis.blockedBy;
    return out;
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

(async () => {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const out = [];
  for await (const line of rl) {
    if (line.trim() === '') continue;
    out.push(JSON.stringify(await evaluate(line)));
    if (out.length >= 256) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
})();
