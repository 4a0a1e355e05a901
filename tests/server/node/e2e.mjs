// End-to-end checks of `r1d serve` through the official OpenAI client.
// Usage: R1D_BASE_URL=http://127.0.0.1:PORT R1D_API_KEY=KEY node e2e.mjs
// The server must run a reasoning template (one whose generation prompt opens <think>), e.g.
// qwen2-tiny-q8_0.gguf with deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.R1D_BASE_URL;
const apiKey = process.env.R1D_API_KEY;
if (!baseURL || !apiKey) {
  console.error('set R1D_BASE_URL and R1D_API_KEY');
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 120000 });
const messages = [{ role: 'user', content: 'Why is the sky blue?' }];
const greedy = { model: 'deepseek-reasoner', messages, temperature: 0, max_tokens: 24 };

async function collect(stream) {
  const out = { content: '', reasoning: '', finish: null, usage: null, chunks: 0, deltas: [] };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      const d = choice.delta ?? {};
      if (d.content) out.content += d.content;
      if (d.reasoning_content) out.reasoning += d.reasoning_content;
      out.deltas.push((d.reasoning_content ?? '') + (d.content ?? ''));
      if (choice.text) {
        out.content += choice.text;
        out.deltas.push(choice.text);
      }
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}

async function expectError(promise, status, code) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${e}`);
    assert.equal(e.status, status, e.message);
    assert.equal(typeof e.error?.message, 'string');
    assert.ok('type' in e.error && 'param' in e.error && 'code' in e.error, JSON.stringify(e.error));
    if (code !== undefined) assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected HTTP ${status}`);
}

const checks = {
  async 'models list has the model and its aliases'() {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes('deepseek-reasoner'), ids.join(','));
    assert.ok(ids.length >= 2);
    for (const m of list.data) assert.equal(m.object, 'model');
    const one = await client.models.retrieve(ids[0]);
    assert.equal(one.id, ids[0]);
  },

  async 'streamed deltas join to the non-streamed message; reasoning split; exact usage'() {
    const full = await client.chat.completions.create({ ...greedy, logprobs: true });
    const msg = full.choices[0].message;
    assert.equal(full.object, 'chat.completion');
    assert.equal(full.model, 'deepseek-reasoner');
    assert.ok(msg.reasoning_content && msg.reasoning_content.length > 0, 'reasoning_content empty');
    for (const text of [msg.content ?? '', msg.reasoning_content]) {
      assert.ok(!text.includes('<think>') && !text.includes('</think>'), text);
    }
    const u = full.usage;
    assert.equal(full.choices[0].finish_reason, 'length');
    assert.equal(u.completion_tokens, 24);
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    assert.ok(u.prompt_tokens > 0);
    assert.equal(u.completion_tokens_details.reasoning_tokens, 24);  // no </think> in 24 tokens
    assert.equal(full.choices[0].logprobs.content.length, u.completion_tokens);
    // The tokens' bytes are the text (unless the model produced bytes that are not UTF-8).
    const bytes = Buffer.from(full.choices[0].logprobs.content.flatMap((t) => t.bytes));
    const text = (msg.reasoning_content ?? '') + (msg.content ?? '');
    if (!text.includes('\uFFFD')) assert.equal(bytes.toString('utf8'), text);

    const s = await collect(await client.chat.completions.create({
      ...greedy, stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(s.reasoning, msg.reasoning_content);
    assert.equal(s.content, msg.content ?? '');
    assert.equal(s.finish, 'length');
    // The same counts (the second request may find its prompt in the prefix cache).
    for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.equal(s.usage[k], u[k]);
    assert.deepEqual(s.usage.completion_tokens_details, u.completion_tokens_details);
  },

  async 'stop strings end the output and are never sent'() {
    const base = await client.chat.completions.create({ ...greedy, max_tokens: 32 });
    const text = base.choices[0].message.reasoning_content;
    // A stop string from the middle of the greedy output, preferably spanning two tokens.
    const at = Math.floor(text.length / 2);
    const stop = text.slice(at, at + 3);
    const expected = text.slice(0, text.indexOf(stop));
    const full = await client.chat.completions.create({ ...greedy, max_tokens: 32, stop: [stop, 'never-seen'] });
    const m = full.choices[0].message;
    assert.equal((m.reasoning_content ?? '') + (m.content ?? ''), expected);
    assert.equal(full.choices[0].finish_reason, 'stop');
    const s = await collect(await client.chat.completions.create({ ...greedy, max_tokens: 32, stop, stream: true }));
    assert.equal(s.reasoning + s.content, expected);
    assert.equal(s.finish, 'stop');
    for (const d of s.deltas) assert.ok(!d.includes(stop), d);
  },

  async 'seeded sampling is reproducible'() {
    const req = { ...greedy, temperature: 1.0, top_p: 0.9, seed: 1234, max_tokens: 16 };
    const a = await client.chat.completions.create(req);
    const b = await client.chat.completions.create(req);
    assert.deepEqual(a.choices[0].message, b.choices[0].message);
    const c = await collect(await client.chat.completions.create({ ...req, stream: true }));
    assert.equal(c.reasoning, a.choices[0].message.reasoning_content ?? '');
  },

  async 'error objects: 401, 404, 400'() {
    const bad = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: apiKey + 'x', maxRetries: 0 });
    await expectError(bad.models.list(), 401, 'invalid_api_key');
    await expectError(client.chat.completions.create({ ...greedy, model: 'no-such-model' }), 404, 'model_not_found');
    await expectError(client.chat.completions.create({ ...greedy, n: 2 }), 400);
    const e = await expectError(client.chat.completions.create({ ...greedy, temperature: 'hot' }), 400);
    assert.equal(e.param, 'temperature');
    await expectError(client.chat.completions.create({ ...greedy, messages: [] }), 400);
    await expectError(client.chat.completions.create({ ...greedy, max_tokens: -5 }), 400);
    await expectError(client.models.retrieve('no-such-model'), 404, 'model_not_found');
  },

  async '16 concurrent streams all finish'() {
    const runs = [];
    for (let i = 0; i < 16; i++) {
      runs.push(client.chat.completions.create({
        ...greedy, temperature: 0.7, seed: i, max_tokens: 12 + i, stream: true,
        stream_options: { include_usage: true },
      }).then(collect));
    }
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      assert.equal(r.finish, 'length', `stream ${i}`);
      assert.equal(r.usage.completion_tokens, 12 + i, `stream ${i}`);
    });
  },

  async '/v1/completions, text and token-id prompts, streamed and not'() {
    const req = { model: 'deepseek-reasoner', prompt: 'Once upon a time', temperature: 0, max_tokens: 16 };
    const full = await client.completions.create(req);
    assert.equal(full.object, 'text_completion');
    assert.equal(full.choices[0].finish_reason, 'length');
    assert.equal(full.usage.completion_tokens, 16);
    assert.ok(full.choices[0].text.length > 0);
    const s = await collect(await client.completions.create({ ...req, stream: true }));
    assert.equal(s.content, full.choices[0].text);
    assert.equal(s.finish, 'length');
    const tok = await (await fetch(`${baseURL}/tokenize`, {
      method: 'POST', headers: { Authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ content: 'Once upon a time', add_special: true }),
    })).json();
    const byIds = await client.completions.create({ ...req, prompt: tok.tokens });
    assert.equal(byIds.choices[0].text, full.choices[0].text);
    assert.equal(byIds.usage.prompt_tokens, tok.tokens.length);
    assert.equal(full.usage.prompt_tokens, tok.tokens.length);
  },
};

let failed = 0;
const only = process.argv[2];
for (const [name, fn] of Object.entries(checks)) {
  if (only && !name.includes(only)) continue;
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n  ${e.stack ?? e}`);
  }
}
console.log(failed === 0 ? 'all passed' : `${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
