// Load benchmark for `r1d serve` (not part of the tests): streams chat completions at several
// concurrency levels and prints requests/s, output tokens/s, and time-to-first-token and
// inter-token latency percentiles.
//
//   r1d serve -m MODEL --port 8080 --api-key KEY --parallel 64 &
//   node bench/serve_load.mjs --url http://127.0.0.1:8080 --key KEY \
//        [--levels 1,4,16,64] [--requests 64] [--max-tokens 64] [--prompt "..."]
//
// Needs only Node 18+ (fetch); no packages.

function parseArgs(argv) {
  const args = { url: 'http://127.0.0.1:8080', key: '', levels: '1,4,16,64', requests: 0,
    'max-tokens': 64, prompt: 'Write a short story about a lighthouse keeper.' };
  for (let i = 2; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  return args;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

// One streamed request: returns {ttft, gaps[], tokens} in milliseconds.
async function streamOne(args, seed) {
  const body = {
    model: 'deepseek-reasoner', stream: true, stream_options: { include_usage: true },
    max_tokens: Number(args['max-tokens']), temperature: 0.8, seed,
    messages: [{ role: 'user', content: args.prompt }],
  };
  const start = performance.now();
  const res = await fetch(`${args.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${args.key}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffered = '';
  let ttft = NaN;
  let last = 0;
  let tokens = 0;
  const gaps = [];
  for await (const bytes of res.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6));
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
      const d = chunk.choices?.[0]?.delta;
      if (!d || !(d.content || d.reasoning_content)) continue;
      const now = performance.now();
      if (Number.isNaN(ttft)) ttft = now - start;
      else gaps.push(now - last);
      last = now;
    }
  }
  return { ttft, gaps, tokens };
}

async function runLevel(args, concurrency) {
  const total = Number(args.requests) || Math.max(2 * concurrency, 8);
  let next = 0;
  const ttfts = [];
  const gaps = [];
  let tokens = 0;
  let failures = 0;
  const start = performance.now();
  async function worker() {
    while (next < total) {
      const seed = next++;
      try {
        const r = await streamOne(args, seed);
        ttfts.push(r.ttft);
        gaps.push(...r.gaps);
        tokens += r.tokens;
      } catch (e) {
        failures++;
        if (failures === 1) console.error(`  request failed: ${e.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  ttfts.sort((a, b) => a - b);
  gaps.sort((a, b) => a - b);
  return { concurrency, total, failures, seconds, rps: (total - failures) / seconds,
    tps: tokens / seconds, ttft50: percentile(ttfts, 50), ttft99: percentile(ttfts, 99),
    itl50: percentile(gaps, 50), itl99: percentile(gaps, 99) };
}

const args = parseArgs(process.argv);
const f = (x, w = 9, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a').padStart(w);
console.log(`r1d serve load: ${args.url}, max_tokens ${args['max-tokens']}`);
console.log('conc  requests  fail    req/s   out tok/s  TTFT p50  TTFT p99   ITL p50   ITL p99 (ms)');
for (const level of String(args.levels).split(',').map(Number)) {
  const r = await runLevel(args, level);
  console.log(`${String(level).padStart(4)}  ${String(r.total).padStart(8)}  ${String(r.failures).padStart(4)}` +
    `${f(r.rps, 9, 2)}${f(r.tps, 12)}${f(r.ttft50, 10)}${f(r.ttft99, 10)}${f(r.itl50, 10)}${f(r.itl99, 10)}`);
}
