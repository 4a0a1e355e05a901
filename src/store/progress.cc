#include "store/progress.h"

#include <algorithm>

namespace r1d::store {
namespace {

// Without a known size, a plain line every this many bytes.
constexpr uint64_t kPlainStepUnknownSize = uint64_t{256} << 20;

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

std::string FormatDuration(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, seconds) + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s / 60) % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  }
  return buf;
}

Progress::Progress(std::FILE* out, bool tty, std::string label)
    : out_(out), tty_(tty), label_(std::move(label)) {}

void Progress::Start(uint64_t offset, uint64_t total) {
  offset_ = offset;
  total_ = total;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  last_decile_ = -1;
  last_plain_bytes_ = offset;
  if (out_ == nullptr) return;
  if (!tty_) {
    std::string line = "pulling " + label_;
    if (total > 0) line += " (" + FormatBytes(total) + ")";
    if (offset > 0) line += ", resuming at " + FormatBytes(offset);
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }
}

void Progress::Update(uint64_t done) {
  if (out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    Draw(done, false);
    return;
  }
  if (total_ > 0) {
    const int decile = static_cast<int>(std::min<uint64_t>(done, total_) * 10 / total_);
    if (last_decile_ < 0) last_decile_ = static_cast<int>(offset_ * 10 / total_);
    if (decile <= last_decile_ || decile >= 10) return;  // 100 % is reported by Finish
    last_decile_ = decile;
  } else {
    if (done < last_plain_bytes_ + kPlainStepUnknownSize) return;
    last_plain_bytes_ = done;
  }
  Draw(done, false);
}

void Progress::Finish(uint64_t done) {
  if (out_ == nullptr) return;
  Draw(done, true);
}

void Progress::Draw(uint64_t done, bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double speed = elapsed > 0 ? static_cast<double>(done - offset_) / elapsed : 0;
  std::string stats = FormatBytes(done);
  if (total_ > 0) stats += " / " + FormatBytes(total_);
  stats += ", " + FormatBytes(static_cast<uint64_t>(speed)) + "/s";
  if (final) {
    stats += ", " + FormatDuration(elapsed);
  } else if (total_ > done && speed > 0) {
    stats += ", ETA " + FormatDuration(static_cast<double>(total_ - done) / speed);
  }
  const int percent =
      total_ > 0 ? static_cast<int>(std::min<uint64_t>(done, total_) * 100 / total_) : -1;
  if (!tty_) {
    if (percent >= 0) {
      std::fprintf(out_, "pulling %s: %d%% (%s)%s\n", label_.c_str(), percent, stats.c_str(),
                   final ? " done" : "");
    } else {
      std::fprintf(out_, "pulling %s: %s%s\n", label_.c_str(), stats.c_str(), final ? " done" : "");
    }
    std::fflush(out_);
    return;
  }
  constexpr int kWidth = 30;
  std::string bar;
  if (percent >= 0) {
    const int filled = percent * kWidth / 100;
    bar = "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
          std::string(std::max(0, kWidth - filled - 1), ' ') + "] ";
    bar += std::to_string(percent) + "% ";
  }
  // \033[K clears what a longer previous line left behind.
  std::fprintf(out_, "\r%s %s%s\033[K%s", label_.c_str(), bar.c_str(), stats.c_str(),
               final ? "\n" : "");
  std::fflush(out_);
}

}  // namespace r1d::store
