// Clients of protocol 2024-11-05 over the legacy HTTP+SSE transport
// (cloudwatch_mcp { legacy_sse }) on Caddy's TLS site, with a cognito-local
// bearer token: the TypeScript SDK's SSEClientTransport, and mcp-remote
// with --transport sse-only started over stdio as a desktop host starts it.
// Another user's token on a session and a foreign Origin get 403.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { check, done, assert, env, readJSON, fakeCalls, fetchT } from './lib.mjs';

const sseURL = new URL(env('PEERS_TLS_URL') + '/sse');
const users = readJSON(env('COGNITO_JSON')).users;

function toolText(res, what) {
  assert(!res.isError, `${what} returned isError: ${JSON.stringify(res.content).slice(0, 300)}`);
  return JSON.stringify(res.structuredContent ?? res.content);
}

// openStream opens the SSE stream by hand and returns the announced
// message URL (the response stays open until abort()).
async function openStream(token, extraHeaders = {}) {
  const ctl = new AbortController();
  const res = await fetch(sseURL, {
    headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}`, ...extraHeaders },
    signal: ctl.signal,
  });
  if (res.status !== 200) {
    ctl.abort();
    return { status: res.status };
  }
  const reader = res.body.getReader();
  let buf = '';
  for (;;) {
    const { value, done: end } = await reader.read();
    assert(!end, 'stream ended before the endpoint event');
    buf += new TextDecoder().decode(value);
    const m = /event: endpoint\r?\ndata: (\S+)/.exec(buf);
    if (m) return { status: 200, endpoint: new URL(m[1], sseURL), abort: () => ctl.abort() };
  }
}

async function post(url, token, body, extraHeaders = {}) {
  const res = await fetchT(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...extraHeaders },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  return res.status;
}

await check('legacy-sse: SDK SSEClientTransport with a bearer header: initialize, tools/list, tools/call describe_log_groups signed with alice\'s vended key', async () => {
  const transport = new SSEClientTransport(sseURL, {
    requestInit: { headers: { Authorization: `Bearer ${users.alice.id_token}` } },
  });
  const client = new Client({ name: 'peers-legacy-sse', version: '1.0.0' });
  await client.connect(transport, { timeout: 15000 });
  try {
    const { tools } = await client.listTools(undefined, { timeout: 15000 });
    assert(tools.some((t) => t.name === 'describe_log_groups') && tools.length >= 19, `tools: ${tools.map((t) => t.name).join(',')}`);
    const before = (await fakeCalls(['DescribeLogGroups'])).length;
    const text = toolText(await client.callTool({ name: 'describe_log_groups', arguments: { log_group_name_prefix: '/aws/lambda/' } }, undefined, { timeout: 20000 }),
      'describe_log_groups');
    assert(text.includes('/aws/lambda/checkout-api') && !text.includes('/ecs/orders-service'), `log groups: ${text.slice(0, 200)}`);
    const calls = await fakeCalls(['DescribeLogGroups']);
    const mine = calls.slice(before);
    assert(mine.length === 1 && mine[0].signed && mine[0].owner === users.alice.sub, `DescribeLogGroups after the call: ${JSON.stringify(mine)}`);
  } finally {
    await client.close();
  }
}, { timeoutMs: 60000 });

await check('legacy-sse: the stream announces <route>/message?sessionId=…; bob\'s token on alice\'s session -> 403, alice\'s -> 202', async () => {
  const s = await openStream(users.alice.id_token);
  try {
    assert(s.status === 200, `GET /mcp/sse: ${s.status}`);
    assert(s.endpoint.pathname === '/mcp/message' && s.endpoint.searchParams.get('sessionId'), `endpoint ${s.endpoint}`);
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const bob = await post(s.endpoint, users.bob.id_token, ping);
    assert(bob === 403, `bob: ${bob}`);
    const alice = await post(s.endpoint, users.alice.id_token, ping);
    assert(alice === 202, `alice: ${alice}`);
  } finally {
    s.abort?.();
  }
});

await check('legacy-sse: a foreign Origin -> 403 on the stream and on the message endpoint', async () => {
  const evil = { Origin: 'https://evil.example' };
  const s = await openStream(users.alice.id_token, evil);
  assert(s.status === 403, `GET /mcp/sse with Origin evil: ${s.status}`);
  const ok = await openStream(users.alice.id_token);
  try {
    const status = await post(ok.endpoint, users.alice.id_token, { jsonrpc: '2.0', id: 1, method: 'ping' }, evil);
    assert(status === 403, `POST message with Origin evil: ${status}`);
  } finally {
    ok.abort?.();
  }
});

await check('legacy-sse: mcp-remote --transport sse-only with a bearer header: tools/list and tools/call get_active_alarms signed for bob', async () => {
  const proxyJS = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
  const home = mkdtempSync(join(tmpdir(), 'peers-mcp-remote-sse-'));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [proxyJS, sseURL.href, '--transport', 'sse-only', '--header', `Authorization:Bearer ${users.bob.id_token}`],
    env: { HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, '.mcp-auth'), NODE_EXTRA_CA_CERTS: env('NODE_EXTRA_CA_CERTS'), BROWSER: 'true' },
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr.on('data', (d) => { log += d.toString(); });
  const client = new Client({ name: 'peers-desktop-like-host', version: '1.0.0' });
  try {
    await client.connect(transport, { timeout: 60000 });
    const { tools } = await client.listTools(undefined, { timeout: 20000 });
    assert(tools.some((t) => t.name === 'get_active_alarms'), `tools: ${tools.map((t) => t.name).join(',')}`);
    const before = (await fakeCalls(['DescribeAlarms'])).length;
    const text = toolText(await client.callTool({ name: 'get_active_alarms', arguments: {} }, undefined, { timeout: 30000 }), 'get_active_alarms');
    assert(text.includes('checkout-api-errors'), `alarms: ${text.slice(0, 200)}`);
    const mine = (await fakeCalls(['DescribeAlarms'])).slice(before);
    assert(mine.length >= 1 && mine.every((c) => c.signed && c.owner === users.bob.sub), `DescribeAlarms: ${JSON.stringify(mine)}`);
    assert(/using SSEClientTransport/.test(log) && !/Please authorize this client/.test(log), `mcp-remote log: ${log.slice(-400)}`);
  } catch (e) {
    throw new Error(`${e.message}; mcp-remote log ends: ${log.slice(-400)}`);
  } finally {
    await client.close().catch(() => {});
  }
}, { timeoutMs: 120000 });

done();
