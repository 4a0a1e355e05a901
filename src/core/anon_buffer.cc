#include "core/anon_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace r1d {

Result<std::unique_ptr<AnonBuffer>> AnonBuffer::Allocate(size_t bytes, const std::string& what,
                                                         bool huge_pages) {
  std::unique_ptr<AnonBuffer> buf(new AnonBuffer());
  if (bytes == 0) return buf;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return Status::Error("cannot allocate " + std::to_string(bytes) + " bytes for " + what + ": " +
                         std::strerror(errno));
  }
  // Advice only: without transparent huge pages the buffer keeps working on small pages.
  if (huge_pages) ::madvise(p, bytes, MADV_HUGEPAGE);
  buf->data_ = p;
  buf->size_ = bytes;
  return buf;
}

AnonBuffer::~AnonBuffer() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace r1d
