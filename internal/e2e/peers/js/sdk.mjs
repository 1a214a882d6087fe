// The official TypeScript MCP SDK client (StreamableHTTPClientTransport with
// a bearer header) against Caddy's TLS site: two cognito-local users each get
// their own session, their own vended AWS keys and their own results.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, done, assert, env, readJSON, fakeCalls, mcpPost } from './lib.mjs';

const url = new URL(env('PEERS_TLS_URL'));
const cognito = readJSON(env('COGNITO_JSON'));
const users = cognito.users;

async function connect(token, target = url) {
  const transport = new StreamableHTTPClientTransport(target, {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  const client = new Client({ name: 'peers-sdk', version: '1.0.0' });
  await client.connect(transport, { timeout: 15000 });
  return { client, transport };
}

function toolJSON(res, what) {
  assert(!res.isError, `${what} returned isError: ${JSON.stringify(res.content).slice(0, 300)}`);
  // Dictionary results come wrapped as {"result": {...}}, as awslabs'
  // FastMCP server returns them.
  if (res.structuredContent) return res.structuredContent.result ?? res.structuredContent;
  const text = res.content.find((c) => c.type === 'text');
  assert(text, `${what}: no text content`);
  return JSON.parse(text.text);
}

const now = new Date();
const insightsArgs = {
  log_group_names: ['/aws/lambda/checkout-api'],
  start_time: new Date(now - 3600e3).toISOString(),
  end_time: now.toISOString(),
  query_string: 'fields @timestamp, @message | filter @message like /whoami/ | limit 10',
  max_timeout: 20,
};

const sessions = {};
const results = {};

for (const name of ['alice', 'bob']) {
  const u = users[name];
  await check(`mcp-sdk ${name}: initialize over TLS (session, protocol version, server info)`, async () => {
    const s = await connect(u.id_token);
    sessions[name] = s;
    assert(s.transport.sessionId, 'no Mcp-Session-Id');
    assert(s.transport.protocolVersion, 'no negotiated protocol version');
    const info = s.client.getServerVersion();
    assert(info && info.name, `no serverInfo: ${JSON.stringify(info)}`);
    const caps = s.client.getServerCapabilities();
    assert(caps && caps.tools, `no tools capability: ${JSON.stringify(caps)}`);
  });
  const s = sessions[name];
  if (!s) continue;
  await check(`mcp-sdk ${name}: tools/list has the three tools, each with description and inputSchema`, async () => {
    const { tools } = await s.client.listTools(undefined, { timeout: 15000 });
    for (const t of ['describe_log_groups', 'execute_log_insights_query', 'get_active_alarms']) {
      const tool = tools.find((x) => x.name === t);
      assert(tool, `missing ${t} in ${tools.map((x) => x.name).join(',')}`);
      assert(tool.description && tool.inputSchema && tool.inputSchema.type === 'object', `${t} lacks description/inputSchema`);
    }
  });
  await check(`mcp-sdk ${name}: tools/call describe_log_groups`, async () => {
    const v = toolJSON(await s.client.callTool({ name: 'describe_log_groups', arguments: {} }, undefined, { timeout: 20000 }), 'describe_log_groups');
    const names = (v.log_group_metadata || []).map((g) => g.logGroupName);
    assert(names.includes('/aws/lambda/checkout-api') && names.length >= 5, `log groups: ${names.join(',')}`);
  });
  await check(`mcp-sdk ${name}: tools/call execute_log_insights_query`, async () => {
    const v = toolJSON(await s.client.callTool({ name: 'execute_log_insights_query', arguments: insightsArgs }, undefined, { timeout: 30000 }), 'execute_log_insights_query');
    assert(v.status === 'Complete', `status ${v.status}: ${JSON.stringify(v).slice(0, 300)}`);
    assert(Array.isArray(v.results) && v.results.length === 1, `results: ${JSON.stringify(v.results)}`);
    results[name] = JSON.stringify(v.results);
  }, { timeoutMs: 40000 });
  await check(`mcp-sdk ${name}: tools/call get_active_alarms`, async () => {
    const v = toolJSON(await s.client.callTool({ name: 'get_active_alarms', arguments: {} }, undefined, { timeout: 20000 }), 'get_active_alarms');
    const text = JSON.stringify(v);
    assert(text.includes('checkout-api-errors'), `active alarms lack checkout-api-errors: ${text.slice(0, 300)}`);
    assert(!text.includes('orders-queue-age'), 'an OK alarm was reported as active');
  });
}

await check('mcp-sdk alice: get_metric_image arrives as image content (image/png, PNG of the requested size)', async () => {
  const s = sessions.alice;
  assert(s, 'no session for alice');
  const res = await s.client.callTool({ name: 'get_metric_image', arguments: {
    namespace: 'AWS/EC2', metric_name: 'CPUUtilization',
    dimensions: [{ name: 'InstanceId', value: 'i-0abc123def4567890' }],
    width: 400, height: 200, annotations: [{ value: 50, label: 'CPU alarm' }],
  } }, undefined, { timeout: 20000 });
  assert(!res.isError, `isError: ${JSON.stringify(res.content).slice(0, 300)}`);
  const images = res.content.filter((c) => c.type === 'image');
  assert(images.length === 1, `content types: ${res.content.map((c) => c.type).join(',')}`);
  assert(images[0].mimeType === 'image/png', `mimeType ${images[0].mimeType}`);
  const png = Buffer.from(images[0].data, 'base64');
  assert(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'no PNG signature');
  // IHDR: width and height, big-endian, right after the signature and chunk header.
  assert(png.readUInt32BE(16) === 400 && png.readUInt32BE(20) === 200, `PNG is ${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`);
  assert(res.content.some((c) => c.type === 'text' && c.text.includes('CPUUtilization')), 'no text line saying what the chart shows');
  assert(res.structuredContent && res.structuredContent.widget && res.structuredContent.widget.metrics, 'no widget in structured content');
  const calls = await fakeCalls(['GetMetricWidgetImage']);
  assert(calls.length >= 1 && calls.every((c) => c.signed && c.owner === users.alice.sub), `GetMetricWidgetImage calls: ${JSON.stringify(calls).slice(0, 300)}`);
});

await check('mcp-sdk: each user gets their own Insights results (run with their own credentials)', async () => {
  const a = results.alice || '', b = results.bob || '';
  assert(a.includes(users.alice.sub) && !a.includes(users.bob.sub), `alice's rows: ${a}`);
  assert(b.includes(users.bob.sub) && !b.includes(users.alice.sub), `bob's rows: ${b}`);
});

await check('mcp-sdk: fake AWS saw every CloudWatch call signed by the calling user\'s own vended key', async () => {
  const calls = await fakeCalls(['DescribeLogGroups', 'StartQuery', 'GetQueryResults', 'DescribeAlarms']);
  const keysOf = {};
  for (const c of calls) {
    assert(c.signed, `unsigned ${c.op}`);
    (keysOf[c.owner] ||= new Set()).add(c.access_key_id);
  }
  for (const name of ['alice', 'bob']) {
    const k = keysOf[users[name].sub];
    assert(k && k.size >= 1, `no calls signed by ${name} (${users[name].sub}); owners: ${Object.keys(keysOf).join(',')}`);
  }
  const ka = [...keysOf[users.alice.sub]], kb = [...keysOf[users.bob.sub]];
  assert(!ka.some((k) => kb.includes(k)), 'alice and bob share an access key');
  const sts = await fakeCalls(['AssumeRoleWithWebIdentity']);
  assert(sts.length >= 2, `AssumeRoleWithWebIdentity calls: ${sts.length}`);
});

await check('mcp-sdk: bob cannot use alice\'s session (403)', async () => {
  const res = await mcpPost(url, users.bob.id_token, { jsonrpc: '2.0', id: 7, method: 'tools/list' }, {
    'Mcp-Session-Id': sessions.alice.transport.sessionId,
    'Mcp-Protocol-Version': sessions.alice.transport.protocolVersion,
  });
  await res.body?.cancel();
  assert(res.status === 403, `status ${res.status}`);
});

await check('mcp-sdk: no bearer token -> StreamableHTTPError 401', async () => {
  try {
    await connect(undefined);
  } catch (e) {
    assert(e instanceof StreamableHTTPError || /401/.test(String(e)), `unexpected error ${e}`);
    assert(e.code === 401 || /401/.test(String(e)), `code ${e.code}`);
    return;
  }
  throw new Error('connected without a token');
});

await check('mcp-sdk: terminateSession (DELETE) ends both sessions', async () => {
  for (const name of ['alice', 'bob']) {
    const s = sessions[name];
    const id = s.transport.sessionId;
    await s.transport.terminateSession();
    const res = await mcpPost(url, users[name].id_token, { jsonrpc: '2.0', id: 8, method: 'tools/list' }, {
      'Mcp-Session-Id': id, 'Mcp-Protocol-Version': s.transport.protocolVersion,
    });
    await res.body?.cancel();
    assert(res.status === 404, `${name}: request on ended session got ${res.status}`);
    await s.client.close();
  }
});

// The identity-pool site vends through Cognito Identity instead of STS.
await check('mcp-sdk: identity_pool vending (GetId + GetCredentialsForIdentity) with a cognito-local ID token', async () => {
  const { client } = await connect(users.alice.id_token, new URL(env('PEERS_POOL_URL')));
  try {
    const v = toolJSON(await client.callTool({ name: 'describe_log_groups', arguments: { max_items: 2 } }, undefined, { timeout: 20000 }), 'describe_log_groups');
    assert((v.log_group_metadata || []).length === 2, `groups: ${JSON.stringify(v).slice(0, 200)}`);
    const ids = await fakeCalls(['GetId', 'GetCredentialsForIdentity']);
    assert(ids.some((c) => c.op === 'GetId') && ids.some((c) => c.op === 'GetCredentialsForIdentity'), `identity calls: ${JSON.stringify(ids)}`);
  } finally {
    await client.close();
  }
});

done();
