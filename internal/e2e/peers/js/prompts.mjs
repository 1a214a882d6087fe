// MCP prompts and completions through the official TypeScript SDK client
// (StreamableHTTPClientTransport, bearer header, TLS): prompts/list,
// prompts/get and completion/complete for two users, the completions
// fetched from the fake AWS with each user's own vended key and cached.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, done, assert, env, readJSON, fakeCalls } from './lib.mjs';

const url = new URL(env('PEERS_TLS_URL'));
const users = readJSON(env('COGNITO_JSON')).users;
const want = ['deploy_watch', 'investigate_alarm', 'log_error_spike', 'slow_requests'];

async function connect(token) {
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'peers-prompts', version: '1.0.0' });
  await client.connect(transport, { timeout: 15000 });
  return client;
}

function complete(client, prompt, name, value) {
  return client.complete({ ref: { type: 'ref/prompt', name: prompt }, argument: { name, value } }, { timeout: 15000 });
}

// callsBy counts the fake's calls of ops signed by owner.
async function callsBy(ops, owner) {
  return (await fakeCalls(ops)).filter((c) => c.owner === owner && c.signed).length;
}

for (const name of ['alice', 'bob']) {
  const u = users[name];
  let client;
  await check(`prompts ${name}: initialize announces prompts and completions`, async () => {
    client = await connect(u.id_token);
    const caps = client.getServerCapabilities();
    assert(caps && caps.prompts && caps.completions, `capabilities: ${JSON.stringify(caps)}`);
  });
  if (!client) continue;
  await check(`prompts ${name}: prompts/list has the four investigations with descriptions and arguments`, async () => {
    const { prompts } = await client.listPrompts(undefined, { timeout: 15000 });
    const names = prompts.map((p) => p.name).sort();
    assert(JSON.stringify(names) === JSON.stringify(want), `prompts: ${names.join(',')}`);
    for (const p of prompts) assert(p.description && p.arguments && p.arguments.some((a) => a.required), `${p.name}: ${JSON.stringify(p)}`);
  });
  await check(`prompts ${name}: prompts/get investigate_alarm is a plan naming the alarm and the tools in order`, async () => {
    const res = await client.getPrompt({ name: 'investigate_alarm', arguments: { alarm_name: 'checkout-api-errors' } }, { timeout: 15000 });
    assert(res.messages.length === 1 && res.messages[0].role === 'user', `messages: ${JSON.stringify(res.messages).slice(0, 200)}`);
    const text = res.messages[0].content.text;
    assert(text.includes('"checkout-api-errors"'), 'the alarm name is not in the plan');
    const order = ['get_alarm_history', 'get_metric_data', 'describe_log_groups', 'execute_log_insights_query'].map((t) => text.indexOf(t));
    assert(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), `tool order: ${order}`);
  });
  await check(`prompts ${name}: prompts/get without a required argument is an error naming it`, async () => {
    try {
      await client.getPrompt({ name: 'slow_requests', arguments: { log_group: '/ecs/orders-service' } }, { timeout: 15000 });
    } catch (e) {
      assert(/latency_field/.test(String(e)), `error: ${e}`);
      return;
    }
    throw new Error('served without latency_field');
  });
  await check(`prompts ${name}: completion/complete fetches log groups and alarms with ${name}'s own key, then from the cache`, async () => {
    const before = await callsBy(['DescribeLogGroups', 'DescribeAlarms'], u.sub);
    const groups = await complete(client, 'log_error_spike', 'log_group', '/aws/lambda/');
    const vals = groups.completion.values;
    assert(vals.includes('/aws/lambda/checkout-api') && vals.every((v) => v.startsWith('/aws/lambda/')), `log groups: ${vals.join(',')}`);
    const alarms = await complete(client, 'investigate_alarm', 'alarm_name', 'checkout');
    assert(JSON.stringify(alarms.completion.values) === '["checkout-api-errors"]', `alarms: ${JSON.stringify(alarms.completion)}`);
    const fetched = await callsBy(['DescribeLogGroups', 'DescribeAlarms'], u.sub);
    assert(fetched === before + 2, `${fetched - before} AWS calls signed by ${name}, want 2`);
    // Typing on: the same answers, from the cache.
    const narrower = await complete(client, 'log_error_spike', 'log_group', '/aws/lambda/check');
    assert(JSON.stringify(narrower.completion.values) === '["/aws/lambda/checkout-api"]', `narrower: ${narrower.completion.values}`);
    await complete(client, 'investigate_alarm', 'alarm_name', 'checkout');
    const after = await callsBy(['DescribeLogGroups', 'DescribeAlarms'], u.sub);
    assert(after === fetched, `${after - fetched} AWS calls for cached completions`);
  });
  await client.close();
}

done();
