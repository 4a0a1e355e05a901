#include "formats/gguf_stream_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace r1d::formats {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kVersion = 3;

void AppendRaw(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);
}
template <class T>
void AppendPod(std::string& out, T v) {
  AppendRaw(out, &v, sizeof v);
}
void AppendString(std::string& out, std::string_view s) {
  AppendPod<uint64_t>(out, s.size());
  out.append(s);
}

bool IsIntType(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kBool:
      return true;
    default:
      return false;
  }
}

// Writes one integer of type t from a widened value; false when it does not fit.
bool AppendInt(std::string& out, GgufType t, int64_t v) {
  auto in = [v](int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  switch (t) {
    case GgufType::kUint8:
      if (!in(0, 255)) return false;
      AppendPod<uint8_t>(out, static_cast<uint8_t>(v));
      return true;
    case GgufType::kInt8:
      if (!in(-128, 127)) return false;
      AppendPod<int8_t>(out, static_cast<int8_t>(v));
      return true;
    case GgufType::kUint16:
      if (!in(0, 65535)) return false;
      AppendPod<uint16_t>(out, static_cast<uint16_t>(v));
      return true;
    case GgufType::kInt16:
      if (!in(-32768, 32767)) return false;
      AppendPod<int16_t>(out, static_cast<int16_t>(v));
      return true;
    case GgufType::kUint32:
      if (!in(0, 4294967295LL)) return false;
      AppendPod<uint32_t>(out, static_cast<uint32_t>(v));
      return true;
    case GgufType::kInt32:
      if (!in(INT32_MIN, INT32_MAX)) return false;
      AppendPod<int32_t>(out, static_cast<int32_t>(v));
      return true;
    case GgufType::kUint64:
      if (v < 0) return false;
      AppendPod<uint64_t>(out, static_cast<uint64_t>(v));
      return true;
    case GgufType::kInt64:
      AppendPod<int64_t>(out, v);
      return true;
    case GgufType::kBool:
      if (!in(0, 1)) return false;
      AppendPod<uint8_t>(out, static_cast<uint8_t>(v));
      return true;
    default:
      return false;
  }
}

Status AppendArray(std::string& out, const GgufArray& a, int depth) {
  if (depth > kGgufMaxArrayDepth) return Status::Error("array nesting too deep");
  AppendPod<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
  const GgufType t = a.elem_type;
  if (IsIntType(t)) {
    if (!a.floats.empty() || !a.strings.empty() || !a.arrays.empty())
      return Status::Error("integer array with non-integer elements");
    AppendPod<uint64_t>(out, a.ints.size());
    for (int64_t v : a.ints)
      if (!AppendInt(out, t, v)) return Status::Error("array element out of range");
  } else if (t == GgufType::kFloat32 || t == GgufType::kFloat64) {
    if (!a.ints.empty() || !a.strings.empty() || !a.arrays.empty())
      return Status::Error("float array with non-float elements");
    AppendPod<uint64_t>(out, a.floats.size());
    for (double v : a.floats) {
      if (t == GgufType::kFloat32) {
        AppendPod<float>(out, static_cast<float>(v));
      } else {
        AppendPod<double>(out, v);
      }
    }
  } else if (t == GgufType::kString) {
    if (!a.ints.empty() || !a.floats.empty() || !a.arrays.empty())
      return Status::Error("string array with non-string elements");
    AppendPod<uint64_t>(out, a.strings.size());
    for (const std::string& s : a.strings) AppendString(out, s);
  } else if (t == GgufType::kArray) {
    if (!a.ints.empty() || !a.floats.empty() || !a.strings.empty())
      return Status::Error("array of arrays with non-array elements");
    AppendPod<uint64_t>(out, a.arrays.size());
    for (const GgufArray& sub : a.arrays) R1D_RETURN_IF_ERROR(AppendArray(out, sub, depth + 1));
  } else {
    return Status::Error("unknown array element type");
  }
  return Status::Ok();
}

Status AppendValue(std::string& out, const GgufValue& v) {
  AppendPod<uint32_t>(out, static_cast<uint32_t>(v.type));
  switch (v.type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
    case GgufType::kUint64:
      if (v.type == GgufType::kUint64) {
        AppendPod<uint64_t>(out, v.u);
        return Status::Ok();
      }
      if (v.u > static_cast<uint64_t>(INT64_MAX) ||
          !AppendInt(out, v.type, static_cast<int64_t>(v.u)))
        return Status::Error("value out of range");
      return Status::Ok();
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      if (!AppendInt(out, v.type, v.i)) return Status::Error("value out of range");
      return Status::Ok();
    case GgufType::kFloat32:
      AppendPod<float>(out, static_cast<float>(v.f));
      return Status::Ok();
    case GgufType::kFloat64:
      AppendPod<double>(out, v.f);
      return Status::Ok();
    case GgufType::kBool:
      AppendPod<uint8_t>(out, v.b ? 1 : 0);
      return Status::Ok();
    case GgufType::kString:
      AppendString(out, v.s);
      return Status::Ok();
    case GgufType::kArray:
      return AppendArray(out, v.array, 1);
  }
  return Status::Error("unknown value type");
}

uint64_t AlignUp(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

}  // namespace

GgufStreamWriter::~GgufStreamWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove((path_ + ".partial").c_str());
  }
}

Status GgufStreamWriter::SetValue(std::string_view key, const GgufValue& value) {
  if (layout_fixed_) return Status::Error("gguf stream writer: metadata set after Begin");
  if (key.empty() || key.size() > kGgufMaxNameLength)
    return Status::Error("gguf stream writer: invalid key '" + std::string(key) + "'");
  std::string probe;
  Status st = AppendValue(probe, value);
  if (!st.ok()) return st.WithContext("gguf stream writer: key '" + std::string(key) + "'");
  auto it = metadata_index_.find(std::string(key));
  if (it != metadata_index_.end()) {
    metadata_[it->second].second = value;
  } else {
    metadata_index_.emplace(std::string(key), metadata_.size());
    metadata_.emplace_back(std::string(key), value);
  }
  return Status::Ok();
}

void GgufStreamWriter::SetUint32(std::string_view key, uint32_t v) {
  GgufValue g;
  g.type = GgufType::kUint32;
  g.u = v;
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetInt32(std::string_view key, int32_t v) {
  GgufValue g;
  g.type = GgufType::kInt32;
  g.i = v;
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetFloat32(std::string_view key, float v) {
  GgufValue g;
  g.type = GgufType::kFloat32;
  g.f = v;
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetBool(std::string_view key, bool v) {
  GgufValue g;
  g.type = GgufType::kBool;
  g.b = v;
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetString(std::string_view key, std::string_view v) {
  GgufValue g;
  g.type = GgufType::kString;
  g.s = std::string(v);
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetStringArray(std::string_view key, std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.array.elem_type = GgufType::kString;
  g.array.strings = std::move(v);
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetInt32Array(std::string_view key, const std::vector<int32_t>& v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.array.elem_type = GgufType::kInt32;
  g.array.ints.assign(v.begin(), v.end());
  (void)SetValue(key, g);
}
void GgufStreamWriter::SetFloat32Array(std::string_view key, const std::vector<float>& v) {
  GgufValue g;
  g.type = GgufType::kArray;
  g.array.elem_type = GgufType::kFloat32;
  g.array.floats.assign(v.begin(), v.end());
  (void)SetValue(key, g);
}

Status GgufStreamWriter::SetAlignment(uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > kGgufMaxAlignment)
    return Status::Error("gguf stream writer: alignment must be a power of two <= 1 MiB");
  if (!tensors_.empty()) return Status::Error("gguf stream writer: alignment set after tensors");
  SetUint32(kGgufAlignmentKey, alignment);
  return Status::Ok();
}

uint64_t GgufStreamWriter::Alignment() const {
  auto it = metadata_index_.find(std::string(kGgufAlignmentKey));
  if (it == metadata_index_.end()) return kGgufDefaultAlignment;
  const GgufValue& v = metadata_[it->second].second;
  if (v.type != GgufType::kUint32 || v.u == 0 || (v.u & (v.u - 1)) != 0 || v.u > kGgufMaxAlignment)
    return kGgufDefaultAlignment;
  return v.u;
}

Result<uint64_t> GgufStreamWriter::AddTensor(std::string_view name, tensor::DType type,
                                             const std::vector<int64_t>& ne) {
  const std::string n(name);
  if (layout_fixed_) return Status::Error("gguf stream writer: tensor '" + n + "' after Begin");
  if (name.empty() || name.size() > kGgufMaxNameLength)
    return Status::Error("gguf stream writer: invalid tensor name");
  if (tensor_index_.count(n)) return Status::Error("gguf stream writer: duplicate tensor " + n);
  if (ne.empty() || ne.size() > kGgufMaxDims)
    return Status::Error("gguf stream writer: tensor " + n + " needs 1 to 4 dimensions");
  const tensor::DTypeInfo& info = tensor::GetDTypeInfo(type);
  uint64_t rows = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] < 1) return Status::Error("gguf stream writer: tensor " + n + " has a dimension < 1");
    if (d > 0) rows *= static_cast<uint64_t>(ne[d]);
  }
  if (ne[0] % info.block_elems != 0)
    return Status::Error("gguf stream writer: tensor " + n + ": row of " + std::to_string(ne[0]) +
                         " is not a multiple of the " + info.name + " block size");
  const uint64_t bytes = rows * static_cast<uint64_t>(tensor::RowBytes(type, ne[0]));
  const uint64_t offset = AlignUp(data_size_, Alignment());
  tensor_index_.emplace(n, tensors_.size());
  tensors_.push_back({n, type, ne, offset, bytes});
  data_size_ = offset + bytes;
  return bytes;
}

Status GgufStreamWriter::Put(const void* data, size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, file_) != n)
    return Status::Error(path_ + ".partial: write failed: " + std::strerror(errno));
  return Status::Ok();
}

Status GgufStreamWriter::Begin(const std::string& path) {
  if (file_ != nullptr || layout_fixed_) return Status::Error("gguf stream writer: Begin twice");
  layout_fixed_ = true;
  path_ = path;
  std::string h;
  AppendPod<uint32_t>(h, kMagic);
  AppendPod<uint32_t>(h, kVersion);
  AppendPod<uint64_t>(h, tensors_.size());
  AppendPod<uint64_t>(h, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    AppendString(h, key);
    R1D_RETURN_IF_ERROR(AppendValue(h, value));
  }
  for (const TensorDecl& t : tensors_) {
    AppendString(h, t.name);
    AppendPod<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) AppendPod<uint64_t>(h, static_cast<uint64_t>(d));
    AppendPod<uint32_t>(h, static_cast<uint32_t>(t.type));
    AppendPod<uint64_t>(h, t.offset);
  }
  h.resize(AlignUp(h.size(), Alignment()), '\0');
  file_ = std::fopen((path + ".partial").c_str(), "wb");
  if (file_ == nullptr)
    return Status::Error(path + ".partial: cannot create: " + std::strerror(errno));
  return Put(h.data(), h.size());
}

Status GgufStreamWriter::WriteTensor(std::string_view data) {
  if (file_ == nullptr) return Status::Error("gguf stream writer: WriteTensor before Begin");
  while (!data.empty()) {
    if (next_tensor_ >= tensors_.size())
      return Status::Error("gguf stream writer: more tensor data written than declared");
    const TensorDecl& t = tensors_[next_tensor_];
    static const char kZeros[4096] = {};
    while (written_ < t.offset) {
      const size_t pad =
          static_cast<size_t>(std::min<uint64_t>(t.offset - written_, sizeof kZeros));
      R1D_RETURN_IF_ERROR(Put(kZeros, pad));
      written_ += pad;
    }
    const uint64_t left = t.offset + t.bytes - written_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, data.size()));
    R1D_RETURN_IF_ERROR(Put(data.data(), n));
    written_ += n;
    data.remove_prefix(n);
    if (written_ == t.offset + t.bytes) ++next_tensor_;
  }
  return Status::Ok();
}

Status GgufStreamWriter::Finish() {
  if (file_ == nullptr) return Status::Error("gguf stream writer: Finish before Begin");
  if (next_tensor_ != tensors_.size())
    return Status::Error("gguf stream writer: " + std::to_string(tensors_.size() - next_tensor_) +
                         " declared tensors were not (completely) written");
  std::FILE* f = file_;
  file_ = nullptr;
  const bool flushed = std::fflush(f) == 0;
  const bool closed = std::fclose(f) == 0;
  const std::string partial = path_ + ".partial";
  if (!flushed || !closed) {
    std::remove(partial.c_str());
    return Status::Error(partial + ": write failed: " + std::strerror(errno));
  }
  if (std::rename(partial.c_str(), path_.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    std::remove(partial.c_str());
    return Status::Error(path_ + ": cannot rename the finished file into place: " + err);
  }
  return Status::Ok();
}

}  // namespace r1d::formats
