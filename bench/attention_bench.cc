// Micro-benchmark of decode attention (kernels::CausalAttentionBatch for single-token entries,
// the vec_dot order) over a paged F16 cache laid out as the model's (blocks of 16 positions
// holding every layer's K and V rows), for the 1.5B model's shape by default: the time of one
// token's attention over all layers at several context lengths, printed as ms per token and
// GB/s of K and V read (the decode bound is the machine's memory bandwidth). Not part of the
// tests.
//   build/bench/attention_bench [threads] [contexts, e.g. 512,4096] [n_head] [n_head_kv]
//                               [head_dim] [layers] [sequences]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/anon_buffer.h"
#include "core/fp16.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"

namespace {

std::vector<int64_t> ParseList(const char* s) {
  std::vector<int64_t> out;
  std::string item;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!item.empty()) out.push_back(std::atoll(item.c_str()));
      item.clear();
      if (*p == '\0') break;
    } else {
      item += *p;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace r1d;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::vector<int64_t> contexts = ParseList(argc > 2 ? argv[2] : "128,512,1024,4096");
  const int64_t n_head = argc > 3 ? std::atoll(argv[3]) : 12;
  const int64_t n_head_kv = argc > 4 ? std::atoll(argv[4]) : 2;
  const int64_t head_dim = argc > 5 ? std::atoll(argv[5]) : 128;
  const int64_t layers = argc > 6 ? std::atoll(argv[6]) : 28;
  const int64_t sequences = argc > 7 ? std::atoll(argv[7]) : 1;
  if (threads < 1 || contexts.empty() || n_head < 1 || n_head_kv < 1 || n_head % n_head_kv != 0 ||
      head_dim < 1 || layers < 1 || sequences < 1) {
    std::fprintf(stderr,
                 "usage: %s [threads] [contexts] [n_head] [n_head_kv] [head_dim] [layers] "
                 "[sequences]\n",
                 argv[0]);
    return 2;
  }
  constexpr int64_t kBlock = 16;
  const int64_t kv_dim = n_head_kv * head_dim, q_dim = n_head * head_dim;
  const kernels::AttentionShape shape{n_head, n_head_kv, head_dim,
                                      1.0f / std::sqrt(static_cast<float>(head_dim))};
  ThreadPool pool(threads);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::printf(
      "decode attention, %lld heads on %lld kv heads of %lld, %lld layers, %lld "
      "sequence(s), %d threads\n",
      static_cast<long long>(n_head), static_cast<long long>(n_head_kv),
      static_cast<long long>(head_dim), static_cast<long long>(layers),
      static_cast<long long>(sequences), threads);
  std::printf("| context | ms/token | GB/s of K+V |\n|---|---|---|\n");
  for (const int64_t n_ctx : contexts) {
    const int64_t n_blocks = (n_ctx + kBlock - 1) / kBlock;
    const int64_t block_elems = layers * 2 * kBlock * kv_dim;  // as models/llama.cc's KvRow
    // One cache per sequence, allocated as models/kv_pool.cc allocates it.
    std::vector<std::unique_ptr<AnonBuffer>> caches(sequences);
    std::vector<std::vector<int64_t>> order(sequences);
    for (int64_t s = 0; s < sequences; ++s) {
      auto buffer = AnonBuffer::Allocate(n_blocks * block_elems * sizeof(uint16_t), "the cache",
                                         /*huge_pages=*/true);
      if (!buffer.ok()) {
        std::fprintf(stderr, "%s\n", buffer.status().message().c_str());
        return 1;
      }
      caches[s] = std::move(buffer).value();
      auto* cells = static_cast<uint16_t*>(caches[s]->data());
      for (int64_t i = 0; i < n_blocks * block_elems; ++i)
        cells[i] = Fp32ToFp16(0.5f * normal(rng));
      order[s].resize(n_blocks);
      for (int64_t b = 0; b < n_blocks; ++b) order[s][b] = b;
      // Blocks in a shuffled order, as a paged pool hands them out after some churn.
      std::shuffle(order[s].begin(), order[s].end(), rng);
    }
    // Per layer and sequence: the block pointers of K and V.
    std::vector<std::vector<const uint16_t*>> kb(layers * sequences), vb(layers * sequences);
    std::vector<kernels::AttentionEntry> entries(layers * sequences);
    std::vector<float> q(sequences * q_dim), out(sequences * q_dim);
    for (float& x : q) x = normal(rng);
    for (int64_t l = 0; l < layers; ++l) {
      for (int64_t s = 0; s < sequences; ++s) {
        const int64_t i = l * sequences + s;
        for (int64_t b = 0; b < n_blocks; ++b) {
          const uint16_t* base =
              static_cast<const uint16_t*>(caches[s]->data()) + order[s][b] * block_elems;
          kb[i].push_back(base + (l * 2 + 0) * kBlock * kv_dim);
          vb[i].push_back(base + (l * 2 + 1) * kBlock * kv_dim);
        }
        entries[i] = {kernels::KvView{kb[i].data(), vb[i].data(), kBlock, kv_dim},
                      q.data() + s * q_dim, 1, n_ctx - 1, out.data() + s * q_dim};
      }
    }
    auto token = [&] {
      for (int64_t l = 0; l < layers; ++l) {
        kernels::CausalAttentionBatch(pool, shape, entries.data() + l * sequences, sequences);
      }
    };
    token();  // warm-up
    int calls = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < 0.5 || calls < 3) {
      token();
      ++calls;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const double per_token = elapsed / calls;
    const double bytes = 2.0 * layers * sequences * n_ctx * kv_dim * sizeof(uint16_t);
    std::printf("| %lld | %.3f | %.1f |\n", static_cast<long long>(n_ctx), 1e3 * per_token,
                bytes / per_token / 1e9);
  }
  return 0;
}
