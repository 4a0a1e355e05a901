#pragma once
// Download progress on stderr: a redrawn bar (bytes, speed, ETA) on a terminal, and plain lines
// (start, every 10 %, end) otherwise, so logs and CI output stay readable.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace r1d::store {

std::string FormatBytes(uint64_t bytes);     // "1.5 GiB"
std::string FormatDuration(double seconds);  // "1h02m", "4m05s", "12s"

class Progress {
 public:
  // out == nullptr: silent.
  Progress(std::FILE* out, bool tty, std::string label);
  // A transfer (re)starts at `offset` bytes of `total` (0: unknown).
  void Start(uint64_t offset, uint64_t total);
  // `done` counts from the start of the file, including the resumed part.
  void Update(uint64_t done);
  void Finish(uint64_t done);

 private:
  void Draw(uint64_t done, bool final);

  std::FILE* out_;
  bool tty_;
  std::string label_;
  uint64_t offset_ = 0;
  uint64_t total_ = 0;
  int last_decile_ = -1;
  uint64_t last_plain_bytes_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace r1d::store
