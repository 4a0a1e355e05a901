#pragma once
// Zero-filled memory from the kernel (anonymous mapping). Pages are only backed when touched,
// so a KV cache sized for a long context costs nothing until it is used, and a request for more
// address space than the system allows is an error value instead of a crash.
#include <cstddef>
#include <memory>

#include "core/status.h"

namespace r1d {

class AnonBuffer {
 public:
  // With huge_pages, the kernel is asked to back the buffer with 2 MiB pages where it can
  // (transparent huge pages in "madvise" mode): for memory streamed at every step, such as
  // weights and the KV cache, where 4 KiB pages cost a TLB miss every few rows. Pages are then
  // backed 2 MiB at a time.
  static Result<std::unique_ptr<AnonBuffer>> Allocate(size_t bytes, const std::string& what,
                                                      bool huge_pages = false);
  ~AnonBuffer();
  AnonBuffer(const AnonBuffer&) = delete;
  AnonBuffer& operator=(const AnonBuffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  AnonBuffer() = default;
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace r1d
