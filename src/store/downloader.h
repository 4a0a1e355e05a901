#pragma once
// One file over HTTP(S) with libcurl: resumable (HTTP Range from the partial file's size, clean
// restart when the server ignores Range), retried with exponential backoff on connection
// errors, 5xx and 429, hashed with SHA-256 while it streams and checked against the digest the
// hub publishes:
//   - `X-Linked-Etag` (Hugging Face sends it on the /resolve/ answer for LFS files, usually a
//     redirect to the CDN) when it is 64 hex characters;
//   - else a strong `ETag` of the final answer when it is 64 hex characters.
// Weak ETags (W/"...") and other ETag shapes are not content digests and are ignored; the file
// is then stored with its locally computed SHA-256 only (recorded in the manifest).
#include <cstdint>
#include <string>

#include "core/status.h"
#include "store/progress.h"

namespace r1d::store {

struct DownloadOptions {
  int max_attempts = 5;         // tries per file for failures worth retrying
  int backoff_ms = 1000;        // first wait between tries; doubles, at most 30 s
  long connect_timeout_s = 30;  // to establish a connection
  long stall_timeout_s = 60;    // abort a transfer that receives nothing for this long
  std::string token;            // sent as "Authorization: Bearer <token>" when not empty
};

struct DownloadResult {
  uint64_t size = 0;
  std::string sha256;      // of the complete file, lowercase hex
  std::string hub_sha256;  // the digest the hub published ("" when none); equals sha256
};

// Downloads `url` into `partial_path`, continuing from that file's current size. On success the
// file is complete and, when the hub published a digest, verified. A digest mismatch or an
// unusable partial file deletes it; other failures keep it so a later call resumes.
// The partial file is locked (flock) so two pulls cannot write it at once.
Result<DownloadResult> DownloadFile(const std::string& url, const std::string& partial_path,
                                    const DownloadOptions& options, Progress* progress);

// The URL without user:password@ and without a query string, for messages and manifests.
std::string RedactUrl(const std::string& url);

}  // namespace r1d::store
