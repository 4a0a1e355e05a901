#pragma once
// The sampling flags shared by the commands that generate (generate, run), declared once so
// their names, help and defaults cannot drift apart.
#include <CLI/CLI.hpp>

#include "runtime/sampler.h"

namespace r1d::cli {

inline void AddSamplingFlags(CLI::App& sub, runtime::SamplingParams& s) {
  sub.add_option("--temp", s.temperature, "Temperature (0: greedy)")->capture_default_str();
  sub.add_option("--top-k", s.top_k, "Top-k (0: off)")->capture_default_str();
  sub.add_option("--top-p", s.top_p, "Top-p (1: off)")->capture_default_str();
  sub.add_option("--min-p", s.min_p, "Min-p (0: off)")->capture_default_str();
  sub.add_option("--repeat-penalty", s.repeat_penalty, "Repetition penalty (1: off)")
      ->capture_default_str();
  sub.add_option("--repeat-last-n", s.repeat_last_n, "Penalty window (-1: all)")
      ->capture_default_str();
  sub.add_option("--presence-penalty", s.presence_penalty, "Presence penalty")
      ->capture_default_str();
  sub.add_option("--frequency-penalty", s.frequency_penalty, "Frequency penalty")
      ->capture_default_str();
  sub.add_option("--seed", s.seed, "RNG seed")->capture_default_str();
}

}  // namespace r1d::cli
