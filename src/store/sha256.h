#pragma once
// SHA-256 (FIPS 180-4), streamed. Pulled models are checked against the digest the hub
// publishes; written here so the store needs no crypto library beyond what libcurl brings.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1d::store {

class Sha256 {
 public:
  Sha256() { Reset(); }
  void Reset();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Finishes the digest and returns it as 64 lowercase hex characters. Resets the state.
  std::string HexDigest();

 private:
  void Block(const uint8_t* p);

  std::array<uint32_t, 8> h_{};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// True for exactly 64 hex digits (either case).
bool IsSha256Hex(std::string_view s);

}  // namespace r1d::store
