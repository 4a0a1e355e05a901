#include "store/downloader.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sha256.h"

namespace r1d::store {
namespace {

constexpr int kMaxBackoffMs = 30000;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

// A strong ETag / X-Linked-Etag that is a SHA-256 digest -> the digest; else "".
std::string DigestFromEtag(const std::string& value) {
  if (value.rfind("W/", 0) == 0) return "";
  std::string v = value;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return IsSha256Hex(v) ? Lower(v) : "";
}

// "bytes 100-199/1000" -> {100, 1000}; "bytes */1000" -> {-1, 1000}. -1 for unknown parts.
std::pair<int64_t, int64_t> ParseContentRange(const std::string& value) {
  int64_t start = -1, total = -1;
  const std::string v = Lower(value);
  if (v.rfind("bytes ", 0) != 0) return {start, total};
  const size_t slash = v.find('/');
  if (slash == std::string::npos) return {start, total};
  try {
    if (v[6] != '*') start = std::stoll(v.substr(6));
    if (slash + 1 < v.size() && v[slash + 1] != '*') total = std::stoll(v.substr(slash + 1));
  } catch (const std::exception&) {
    return {-1, -1};
  }
  return {start, total};
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with the libcurl callbacks during one attempt (and across attempts for the
// file and its running hash).
struct Transfer {
  int fd = -1;
  std::string path;
  uint64_t size = 0;    // bytes in the partial file
  uint64_t offset = 0;  // where this attempt's body starts
  Sha256 hash;          // over bytes [0, hashed)
  uint64_t hashed = 0;
  CURL* curl = nullptr;
  Progress* progress = nullptr;
  // Per attempt.
  bool body_started = false;
  long status = 0;
  uint64_t total = 0;  // expected full size, 0 when unknown
  std::string linked_etag, etag, content_range, linked_size;
  int write_errno = 0;
  std::string abort_reason;
};

Status HashFileUpTo(Transfer& t, uint64_t end) {
  std::vector<char> buf(1 << 20);
  while (t.hashed < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - t.hashed));
    const ssize_t n = ::pread(t.fd, buf.data(), want, static_cast<off_t>(t.hashed));
    if (n <= 0) return Status::Error("cannot read " + t.path + ": " + std::strerror(errno));
    t.hash.Update(buf.data(), static_cast<size_t>(n));
    t.hashed += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status Truncate(Transfer& t) {
  if (::ftruncate(t.fd, 0) != 0) {
    return Status::Error("cannot truncate " + t.path + ": " + std::strerror(errno));
  }
  t.size = t.offset = t.hashed = 0;
  t.hash.Reset();
  return Status::Ok();
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new answer (after a redirect): its own headers start over; X-Linked-Etag is kept, since
    // the hub sends it on the redirect, not on the CDN's answer.
    t.etag.clear();
    t.content_range.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  const std::string name = Lower(line.substr(0, colon));
  const std::string value = Trim(line.substr(colon + 1));
  if (name == "x-linked-etag") t.linked_etag = value;
  if (name == "x-linked-size") t.linked_size = value;
  if (name == "etag") t.etag = value;
  if (name == "content-range") t.content_range = value;
  return size * n;
}

// Decides, at the first body byte, what the answer means for the partial file.
bool BeginBody(Transfer& t) {
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
  if (t.status != 200 && t.status != 206) return true;  // error bodies are dropped
  if (t.status == 206) {
    const auto [start, total] = ParseContentRange(t.content_range);
    if (start < 0 || static_cast<uint64_t>(start) != t.offset) {
      t.abort_reason = "the server resumed at the wrong offset";
      return false;
    }
    if (total > 0) t.total = static_cast<uint64_t>(total);
    if (Status st = HashFileUpTo(t, t.offset); !st.ok()) {
      t.abort_reason = st.message();
      return false;
    }
  } else {
    // 200: the whole file follows, whether or not we asked for a range (servers may ignore
    // Range). Start the partial file over.
    if (t.size > 0) {
      if (Status st = Truncate(t); !st.ok()) {
        t.abort_reason = st.message();
        return false;
      }
    }
    curl_off_t length = -1;
    curl_easy_getinfo(t.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length >= 0) t.total = static_cast<uint64_t>(length);
  }
  if (t.total > t.offset) {
    struct statvfs vfs {};
    if (::fstatvfs(t.fd, &vfs) == 0) {
      const uint64_t free_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
      if (free_bytes < t.total - t.offset) {
        t.abort_reason = "not enough disk space for " + t.path + ": need " +
                         FormatBytes(t.total - t.offset) + ", " + FormatBytes(free_bytes) + " free";
        return false;
      }
    }
  }
  if (t.progress != nullptr) t.progress->Start(t.offset, t.total);
  return true;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (!t.body_started) {
    t.body_started = true;
    if (!BeginBody(t)) return 0;
  }
  if (t.status != 200 && t.status != 206) return bytes;
  size_t done = 0;
  while (done < bytes) {
    const ssize_t w = ::pwrite(t.fd, data + done, bytes - done, static_cast<off_t>(t.size + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      t.write_errno = errno;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  t.hash.Update(data, bytes);
  t.size += bytes;
  t.hashed += bytes;
  if (t.progress != nullptr) t.progress->Update(t.size);
  return bytes;
}

enum class Outcome { kDone, kRetry, kFail };
struct AttemptResult {
  Outcome outcome = Outcome::kFail;
  std::string message;
};

bool RetryableCurlError(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

AttemptResult Attempt(Transfer& t, const std::string& url, const DownloadOptions& options) {
  const std::string shown = RedactUrl(url);
  t.offset = t.size;
  t.body_started = false;
  t.status = 0;
  t.total = 0;
  t.linked_etag.clear();
  t.linked_size.clear();
  t.etag.clear();
  t.content_range.clear();
  t.write_errno = 0;
  t.abort_reason.clear();

  CURL* curl = curl_easy_init();
  if (curl == nullptr) return {Outcome::kFail, "cannot initialise libcurl"};
  t.curl = curl;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (!options.token.empty()) {
    // libcurl drops this header when a redirect leaves the original host, so the token is
    // never handed to the CDN.
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options.token).c_str());
  }
  const std::string range = std::to_string(t.offset) + "-";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "r1d/0.1");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
  // CURLOPT_RANGE rather than RESUME_FROM: libcurl then leaves a 200 answer to us (restart)
  // instead of failing the transfer.
  if (t.offset > 0) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  t.curl = nullptr;

  if (rc == CURLE_WRITE_ERROR) {
    if (t.write_errno == ENOSPC || t.write_errno == EDQUOT) {
      return {Outcome::kFail, "disk full while writing " + t.path};
    }
    if (t.write_errno != 0) {
      return {Outcome::kFail, "cannot write " + t.path + ": " + std::strerror(t.write_errno)};
    }
    if (!t.abort_reason.empty()) return {Outcome::kFail, t.abort_reason};
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) why = "timed out (" + why + ")";
    return {RetryableCurlError(rc) ? Outcome::kRetry : Outcome::kFail, why + " (" + shown + ")"};
  }
  const std::string code = "HTTP " + std::to_string(status);
  if (status == 200 || status == 206) {
    if (t.status == 0) {
      // An empty body never reached the write callback.
      t.status = status;
      if (status == 200 && t.size > 0) {
        if (Status st = Truncate(t); !st.ok()) return {Outcome::kFail, st.message()};
      }
    }
    if (t.total > 0 && t.size != t.total) {
      return {Outcome::kRetry, "the connection closed at " + std::to_string(t.size) + " of " +
                                   std::to_string(t.total) + " bytes (" + shown + ")"};
    }
    return {Outcome::kDone, ""};
  }
  if (status == 416 && t.offset > 0) {
    // Range not satisfiable: the partial file is already whole (an earlier pull stopped before
    // the rename) or larger than the file now on the hub.
    const auto [start, total] = ParseContentRange(t.content_range);
    (void)start;
    if (total >= 0 && static_cast<uint64_t>(total) == t.size) return {Outcome::kDone, ""};
    if (Status st = Truncate(t); !st.ok()) return {Outcome::kFail, st.message()};
    return {Outcome::kRetry, "the partial download did not match the file on the server"};
  }
  if (status == 401 || status == 403) {
    std::string hint = options.token.empty()
                           ? "the repository may be gated or private: set HF_TOKEN to an access "
                             "token that can read it"
                           : "HF_TOKEN was sent and refused: check that it can read this "
                             "repository (gated models need their licence accepted)";
    return {Outcome::kFail, "access denied (" + code + ") for " + shown + "; " + hint};
  }
  if (status == 404) {
    return {Outcome::kFail,
            "not found (" + code + "): " + shown + " (check the owner, repository and file name)"};
  }
  if (status == 429 || status >= 500) {
    return {Outcome::kRetry, "the server answered " + code + " (" + shown + ")"};
  }
  return {Outcome::kFail, "unexpected answer " + code + " from " + shown};
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  std::string out = url;
  const size_t scheme = out.find("://");
  const size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t path_start = out.find('/', host_start);
  const size_t at = out.find('@', host_start);
  if (at != std::string::npos && (path_start == std::string::npos || at < path_start)) {
    out.erase(host_start, at + 1 - host_start);
  }
  const size_t query = out.find_first_of("?#");
  if (query != std::string::npos) out.erase(query);
  return out;
}

Result<DownloadResult> DownloadFile(const std::string& url, const std::string& partial_path,
                                    const DownloadOptions& options, Progress* progress) {
  GlobalInit();
  Transfer t;
  t.path = partial_path;
  t.progress = progress;
  t.fd = ::open(partial_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (t.fd < 0) {
    return Status::Error("cannot open " + partial_path + ": " + std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{t.fd};
  if (::flock(t.fd, LOCK_EX | LOCK_NB) != 0) {
    return Status::Error("another r1d pull is already downloading " + partial_path);
  }
  struct stat st {};
  if (::fstat(t.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Error(partial_path + " is not a regular file");
  }
  t.size = static_cast<uint64_t>(st.st_size);

  const int attempts = std::max(1, options.max_attempts);
  int backoff = std::max(0, options.backoff_ms);
  AttemptResult result;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    result = Attempt(t, url, options);
    if (result.outcome != Outcome::kRetry || attempt == attempts) break;
    std::fprintf(stderr, "r1d: %s; retrying in %s (attempt %d of %d)\n", result.message.c_str(),
                 FormatDuration(backoff / 1000.0).c_str(), attempt + 1, attempts);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
    backoff = std::min(kMaxBackoffMs, backoff * 2);
  }
  if (result.outcome != Outcome::kDone) {
    std::string message = result.message;
    if (result.outcome == Outcome::kRetry) {
      message = "giving up after " + std::to_string(attempts) + " attempts: " + message;
    }
    if (t.size > 0) {
      message += "; " + FormatBytes(t.size) + " kept, pull again to resume";
    } else {
      ::unlink(partial_path.c_str());  // nothing worth keeping
    }
    return Status::Error(message);
  }
  if (progress != nullptr) progress->Finish(t.size);
  R1D_RETURN_IF_ERROR(HashFileUpTo(t, t.size));
  if (::fsync(t.fd) != 0) {
    return Status::Error("cannot flush " + partial_path + ": " + std::strerror(errno));
  }
  DownloadResult out;
  out.size = t.size;
  out.sha256 = t.hash.HexDigest();
  out.hub_sha256 = DigestFromEtag(t.linked_etag);
  if (out.hub_sha256.empty()) out.hub_sha256 = DigestFromEtag(t.etag);
  if (!out.hub_sha256.empty() && out.hub_sha256 != out.sha256) {
    ::unlink(partial_path.c_str());
    return Status::Error("checksum mismatch for " + RedactUrl(url) + ": the hub publishes sha256 " +
                         out.hub_sha256 + ", the download has " + out.sha256 +
                         "; the download was discarded");
  }
  return out;
}

}  // namespace r1d::store
