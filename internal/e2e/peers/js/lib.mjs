// Shared helpers for the peer checks: every check prints one line,
// "PASS <name>" or "FAIL <name>: <reason>", which run.sh counts.
import { appendFileSync, readFileSync } from 'node:fs';

let failed = 0;

export async function check(name, fn, { timeoutMs = 30000 } = {}) {
  let timer;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    console.log(`PASS ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${oneLine(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

export function done() {
  process.exitCode = failed ? 1 : 0;
}

export function info(msg) {
  console.log(`INFO ${msg}`);
}

function oneLine(err) {
  const s = err && err.stack && process.env.PEERS_VERBOSE ? err.stack : String(err && err.message ? err.message : err);
  return s.replace(/\s+/g, ' ').slice(0, 600);
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`missing env ${name}`);
  return v;
}

export function readJSON(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

// jwtClaims decodes a JWT payload without verifying it (the server does that).
export function jwtParts(tok) {
  const [h, p] = tok.split('.');
  const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: dec(h), claims: dec(p) };
}

// fetchT is fetch with a bounded time.
export async function fetchT(url, init = {}, ms = 15000) {
  return fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
}

// mcpPost sends one raw JSON-RPC request, as a plain HTTP client would.
export async function mcpPost(url, token, body, extraHeaders = {}) {
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    ...extraHeaders,
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetchT(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

export const initializeBody = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'peers-raw', version: '0' } },
};

// calls asks fakeenv's control server which keys signed the given ops.
export async function fakeCalls(ops) {
  const res = await fetchT(`${env('FAKE_CONTROL_URL')}/calls?op=${ops.join(',')}`);
  assert(res.ok, `control server: ${res.status}`);
  return res.json();
}

// recordSecret notes values that must never appear in Caddy's logs
// (tokens a client received, codes a browser carried); run.sh scans the
// logs for every line of PEERS_SECRETS_FILE at the end.
export function recordSecret(...values) {
  const file = process.env.PEERS_SECRETS_FILE;
  if (!file) return;
  const lines = values.filter((v) => typeof v === 'string' && v.length >= 8).map((v) => v + '\n');
  if (lines.length) appendFileSync(file, lines.join(''));
}
