// r1d bench: prompt-processing and text-generation speed, in the style of llama-bench.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli/command.h"
#include "core/thread_pool.h"
#include "models/model.h"
#include "store/model_store.h"

namespace r1d::cli {
namespace {

struct BenchFlags {
  std::string model;
  int threads = 0;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int reps = 3;
  std::vector<int> batches;
  std::vector<int64_t> depths{0};
  bool json = false;
  bool no_pack = false;
  bool fast_dots = false;
};

struct Stats {
  double mean = 0, stddev = 0;
};

Stats Summarize(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(s.stddev / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int RunBench(const BenchFlags& flags) {
  auto model_path = store::ResolveModelPath(flags.model);
  if (!model_path.ok()) return Fail(model_path.status().message());
  models::LoadOptions load;
  load.pack_weights = !flags.no_pack;
  load.row_order = flags.fast_dots;
  if (flags.no_pack && flags.fast_dots)
    return Fail("--fast-dots needs packed weights (no --no-pack)");
  const auto load_start = std::chrono::steady_clock::now();
  auto model = models::LoadModel(*model_path, load);
  if (!model.ok()) return Fail(model.status().message());
  std::fprintf(stderr, "loaded in %.2f s; %s\n",
               Seconds(load_start, std::chrono::steady_clock::now()),
               models::DescribePacking((*model)->pack_stats()).c_str());
  const models::ModelInfo& info = (*model)->info();
  const int threads = ThreadPool::ResolveCount(flags.threads);
  ThreadPool pool(threads);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(info.n_vocab - 1));
  std::vector<float> logits(static_cast<size_t>(info.n_vocab));
  const int64_t max_depth = *std::max_element(flags.depths.begin(), flags.depths.end());
  const int64_t n_ctx = max_depth + std::max<int64_t>(flags.n_prompt, flags.n_gen + 1);
  if (max_depth > 0 && n_ctx > info.n_ctx_train) {
    std::fprintf(stderr,
                 "r1d: warning: depth %lld plus the test tokens needs %lld positions, more than "
                 "the %lld the model declares\n",
                 static_cast<long long>(max_depth), static_cast<long long>(n_ctx),
                 static_cast<long long>(info.n_ctx_train));
  }
  auto state = (*model)->NewSequence(n_ctx);
  if (!state.ok()) return Fail(state.status().message());
  auto random_tokens = [&](int64_t n) {
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    for (auto& t : tokens) t = token(rng);
    return tokens;
  };
  // Fills positions [0, depth) of a sequence with random tokens (untimed), in prompt-sized
  // pieces so the buffers stay those of the measured tests.
  auto fill_context = [&](models::SequenceState& seq, int64_t depth) -> Status {
    if (depth > 0) {
      std::fprintf(stderr, "filling %lld context tokens...\n", static_cast<long long>(depth));
    }
    const int64_t piece = std::max<int64_t>(flags.n_prompt, 512);
    for (int64_t pos = 0; pos < depth; pos += piece) {
      const int64_t n = std::min(piece, depth - pos);
      const auto tokens = random_tokens(n);
      Status st = (*model)->Forward(pool, seq, tokens.data(), n, pos, logits.data());
      if (!st.ok()) return st;
    }
    return Status::Ok();
  };

  struct Row {
    std::string test;
    int64_t n;
    int64_t depth;
    Stats tps;
  };
  std::vector<Row> rows;
  // Untimed warm-up, as llama-bench does it: a whole prompt when prompts are measured (the
  // first one otherwise pays for touching the mapping and the prompt-sized buffers), then one
  // token.
  if (flags.n_prompt > 0) {
    const auto prompt = random_tokens(flags.n_prompt);
    Status st = (*model)->Forward(pool, **state, prompt.data(), flags.n_prompt, 0, logits.data());
    if (!st.ok()) return Fail(st.message());
  }
  {
    const int32_t t = token(rng);
    Status st = (*model)->Forward(pool, **state, &t, 1, 0, logits.data());
    if (!st.ok()) return Fail(st.message());
  }
  for (const int64_t depth : flags.depths) {
    // The cells [0, depth) stay valid for every test at this depth: each test writes from
    // position `depth` on.
    Status filled = fill_context(**state, depth);
    if (!filled.ok()) return Fail(filled.message());
    if (flags.n_prompt > 0) {
      std::vector<double> tps;
      for (int r = 0; r < flags.reps; ++r) {
        const auto prompt = random_tokens(flags.n_prompt);
        auto t0 = std::chrono::steady_clock::now();
        Status st =
            (*model)->Forward(pool, **state, prompt.data(), flags.n_prompt, depth, logits.data());
        if (!st.ok()) return Fail(st.message());
        tps.push_back(static_cast<double>(flags.n_prompt) /
                      Seconds(t0, std::chrono::steady_clock::now()));
      }
      rows.push_back(
          {"pp" + std::to_string(flags.n_prompt), flags.n_prompt, depth, Summarize(tps)});
    }
    if (flags.n_gen > 0) {
      std::vector<double> tps;
      for (int r = 0; r < flags.reps; ++r) {
        int32_t t = token(rng);
        auto t0 = std::chrono::steady_clock::now();
        for (int64_t i = 0; i < flags.n_gen; ++i) {
          Status st = (*model)->Forward(pool, **state, &t, 1, depth + i, logits.data());
          if (!st.ok()) return Fail(st.message());
          t = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        }
        tps.push_back(static_cast<double>(flags.n_gen) /
                      Seconds(t0, std::chrono::steady_clock::now()));
      }
      rows.push_back({"tg" + std::to_string(flags.n_gen), flags.n_gen, depth, Summarize(tps)});
    }

    // Aggregate decode throughput with b sequences decoding together (one forward pass per
    // step for all of them: the weights are read once per step), each after `depth` cells.
    const int64_t n_gen_batch = std::max<int64_t>(flags.n_gen, 1);
    for (int b : flags.batches) {
      std::vector<std::unique_ptr<models::SequenceState>> seqs;
      for (int i = 0; i < b; ++i) {
        auto s = (*model)->NewSequence(depth + n_gen_batch + 1);
        if (!s.ok()) return Fail(s.status().message());
        Status st = fill_context(**s, depth);
        if (!st.ok()) return Fail(st.message());
        seqs.push_back(std::move(s).value());
      }
      std::vector<float> batch_logits(static_cast<size_t>(b) * info.n_vocab);
      std::vector<double> tps;
      for (int r = 0; r < flags.reps; ++r) {
        std::vector<int32_t> cur(b);
        for (auto& t : cur) t = token(rng);
        std::vector<models::BatchEntry> entries(b);
        auto t0 = std::chrono::steady_clock::now();
        for (int64_t step = 0; step < n_gen_batch; ++step) {
          for (int i = 0; i < b; ++i) {
            entries[i] = {seqs[i].get(), &cur[i], 1, depth + step,
                          batch_logits.data() + i * info.n_vocab};
          }
          Status st = (*model)->ForwardBatch(pool, entries.data(), b);
          if (!st.ok()) return Fail(st.message());
          // The greedy picks in parallel, as the server's engine samples its sequences: one
          // thread scanning 16 vocabularies took ~5% of a 16-sequence step.
          pool.ParallelFor(b, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
              const float* l = batch_logits.data() + i * info.n_vocab;
              cur[i] = static_cast<int32_t>(std::max_element(l, l + info.n_vocab) - l);
            }
          });
        }
        tps.push_back(static_cast<double>(b * n_gen_batch) /
                      Seconds(t0, std::chrono::steady_clock::now()));
      }
      rows.push_back({"tg" + std::to_string(n_gen_batch) + "@b" + std::to_string(b),
                      n_gen_batch * b, depth, Summarize(tps)});
    }
  }

  if (flags.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      out.push_back({{"test", r.test},
                     {"model", flags.model},
                     {"threads", threads},
                     {"n_tokens", r.n},
                     {"n_depth", r.depth},
                     {"repetitions", flags.reps},
                     {"tokens_per_second", r.tps.mean},
                     {"stddev", r.tps.stddev}});
    }
    std::printf("%s\n", out.dump(1).c_str());
  } else {
    std::printf("| model | arch | threads | test | t/s |\n|---|---|---|---|---|\n");
    for (const auto& r : rows) {
      // Tests after a filled context are named as llama-bench names them ("tg128 @ d4096").
      const std::string test = r.depth > 0 ? r.test + " @ d" + std::to_string(r.depth) : r.test;
      std::printf("| %s | %s | %d | %s | %.2f ± %.2f |\n", flags.model.c_str(),
                  info.architecture.c_str(), threads, test.c_str(), r.tps.mean, r.tps.stddev);
    }
  }
  return 0;
}

const CommandRegistrar kRegistrar(
    "bench", "Measure prompt processing (ppN) and generation (tgN) speed", [](CLI::App& sub) {
      auto flags = std::make_shared<BenchFlags>();
      sub.add_option(
             "-m,--model", flags->model,
             "Model: a GGUF path, hf:<owner>/<repo>/<file.gguf> or a tag such as deepseek-r1:7b")
          ->required();
      sub.add_option("-t,--threads", flags->threads, "Threads (default: all cores)");
      sub.add_option("-p,--n-prompt", flags->n_prompt, "Prompt tokens per pp test (0: skip)")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
      sub.add_option("-n,--n-gen", flags->n_gen, "Generated tokens per tg test (0: skip)")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
      sub.add_option("-r,--repetitions", flags->reps,
                     "Repetitions of each test (after one untimed warm-up run, as llama-bench)")
          ->capture_default_str()
          ->check(CLI::Range(1, 1000));
      sub.add_option("--batch", flags->batches,
                     "Also measure aggregate decode throughput with these numbers of sequences "
                     "decoding together (e.g. --batch 1,4,16)")
          ->delimiter(',')
          ->check(CLI::Range(1, 512));
      sub.add_option("-d,--depth", flags->depths,
                     "Run every test after this many context tokens already in the cache "
                     "(filled untimed; several values as 0,512,4096), as llama-bench's -d")
          ->delimiter(',')
          ->capture_default_str()
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
      sub.add_flag("--json", flags->json, "Print a JSON array instead of a table");
      sub.add_flag("--no-pack", flags->no_pack,
                   "Compute on the weights as stored in the file instead of packing them at "
                   "load (for comparison; results are the same bits)");
      AddFastDotsFlag(sub, flags->fast_dots);
      return [flags] { return RunBench(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
