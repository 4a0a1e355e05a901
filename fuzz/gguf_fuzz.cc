// libFuzzer entry for the GGUF reader. Besides "never crash", it checks what every accepted file
// must satisfy: errors start with the file name, every tensor lies inside the input, and a parsed
// file survives a round trip through the writer unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"

namespace {

using r1d::formats::GgufFile;
using r1d::formats::GgufTensorInfo;
using r1d::formats::GgufWriter;

constexpr std::string_view kName = "fuzz.gguf";

void Require(bool cond) {
  if (!cond) __builtin_trap();
}

std::string Rewrite(const GgufFile& f) {
  GgufWriter w;
  for (const auto& [key, value] : f.metadata()) Require(w.SetValue(key, value).ok());
  for (const GgufTensorInfo& t : f.tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    Require(w.AddTensor(t.name, t.type, ne,
                        std::string_view(reinterpret_cast<const char*>(t.data), t.n_bytes))
                .ok());
  }
  return w.Finish();
}

void Exercise(const GgufFile& f, const uint8_t* data, size_t size) {
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    Require(f.Find(key) == &value);
    // Every accessor either succeeds or fails with a message naming the file.
    auto u = f.GetUint(key);
    Require(u.ok() || u.status().message().rfind(kName, 0) == 0);
    sink = sink + (u.ok() ? *u : 0);
    sink = sink + f.GetInt(key).ok() + f.GetFloat(key).ok() + f.GetBool(key).ok();
    auto s = f.GetString(key);
    sink = sink + (s.ok() ? s->size() : 0);
    auto a = f.GetArray(key);
    sink = sink + (a.ok() ? (*a)->size() : 0);
  }
  // A key the file cannot hold: one longer than the whole input. A fixed name is no proof of
  // absence: the fuzzer once wrote the harness's own "fuzz.missing.key" into a file.
  const std::string missing(size + 1, 'k');
  Require(!f.GetUint(missing).ok());
  Require(f.GetUintOr(missing, 7).value() == 7);
  for (const GgufTensorInfo& t : f.tensors()) {
    Require(f.FindTensor(t.name) == &t);
    Require(t.n_bytes > 0 && t.data >= data && t.n_bytes <= size &&
            t.data + t.n_bytes <= data + size);
    sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = GgufFile::Parse(data, size, std::string(kName));
  if (!parsed.ok()) {
    Require(parsed.status().message().rfind(std::string(kName) + ": ", 0) == 0);
    return 0;
  }
  Exercise(**parsed, data, size);
  // Whatever the reader accepts, the writer can write and the reader reads back the same.
  const std::string once = Rewrite(**parsed);
  auto again = GgufFile::Parse(reinterpret_cast<const uint8_t*>(once.data()), once.size(),
                               std::string(kName));
  Require(again.ok());
  Require(Rewrite(**again) == once);
  return 0;
}
