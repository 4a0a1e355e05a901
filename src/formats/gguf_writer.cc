#include "formats/gguf_writer.h"

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "core/checked_math.h"

namespace r1d::formats {

static_assert(std::endian::native == std::endian::little,
              "the GGUF writer stores host integers as little-endian fields");

namespace {

template <class T>
void PutPod(std::string* out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out->append(bytes, sizeof(T));
}

void PutString(std::string* out, std::string_view s) {
  PutPod<uint64_t>(out, s.size());
  out->append(s);
}

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

// Whether v (an element of GgufArray::ints) fits an array of integer or bool type t.
bool IntegerFits(GgufType t, int64_t v) {
  switch (t) {
    case GgufType::kUint8:
      return v >= 0 && v <= std::numeric_limits<uint8_t>::max();
    case GgufType::kInt8:
      return v >= std::numeric_limits<int8_t>::min() && v <= std::numeric_limits<int8_t>::max();
    case GgufType::kUint16:
      return v >= 0 && v <= std::numeric_limits<uint16_t>::max();
    case GgufType::kInt16:
      return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
    case GgufType::kUint32:
      return v >= 0 && v <= std::numeric_limits<uint32_t>::max();
    case GgufType::kInt32:
      return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    case GgufType::kUint64:
      return v >= 0;
    case GgufType::kInt64:
      return true;
    case GgufType::kBool:
      return v == 0 || v == 1;
    default:
      return false;
  }
}

// A double fits float32 when converting it is defined: in range, infinite or NaN.
bool FloatFits(GgufType t, double v) {
  return t == GgufType::kFloat64 || !std::isfinite(v) ||
         std::fabs(v) <= std::numeric_limits<float>::max();
}

bool KnownType(GgufType t) { return static_cast<uint32_t>(t) <= 12; }

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::Error("GGUF writer: empty key");
  if (key.size() > kGgufMaxNameLength) {
    return Status::Error("GGUF writer: key of " + std::to_string(key.size()) +
                         " bytes exceeds the limit of " + std::to_string(kGgufMaxNameLength));
  }
  return Status::Ok();
}

Status CheckArray(std::string_view key, const GgufArray& a, int depth) {
  auto fail = [&](const std::string& what) {
    return Status::Error("GGUF writer: key '" + std::string(key) + "': " + what);
  };
  const GgufType t = a.elem_type;
  if (!KnownType(t)) return fail("unknown array element type");
  if (t == GgufType::kArray && depth >= kGgufMaxArrayDepth) {
    return fail("arrays nested deeper than " + std::to_string(kGgufMaxArrayDepth) + " levels");
  }
  const bool want_floats = t == GgufType::kFloat32 || t == GgufType::kFloat64;
  const bool want_strings = t == GgufType::kString;
  const bool want_arrays = t == GgufType::kArray;
  const bool want_ints = !want_floats && !want_strings && !want_arrays;
  if ((!want_ints && !a.ints.empty()) || (!want_floats && !a.floats.empty()) ||
      (!want_strings && !a.strings.empty()) || (!want_arrays && !a.arrays.empty())) {
    return fail(std::string("array of ") + GgufTypeName(t) + " has elements of another kind");
  }
  for (int64_t v : a.ints) {
    if (!IntegerFits(t, v)) {
      return fail(std::to_string(v) + " does not fit an array of " + GgufTypeName(t));
    }
  }
  for (double v : a.floats) {
    if (!FloatFits(t, v)) return fail(std::to_string(v) + " does not fit float32");
  }
  for (const GgufArray& inner : a.arrays) R1D_RETURN_IF_ERROR(CheckArray(key, inner, depth + 1));
  return Status::Ok();
}

Status CheckValue(std::string_view key, const GgufValue& v) {
  R1D_RETURN_IF_ERROR(CheckKey(key));
  auto fail = [&](const std::string& what) {
    return Status::Error("GGUF writer: key '" + std::string(key) + "': " + what);
  };
  const GgufType t = v.type;
  if (!KnownType(t)) return fail("unknown value type");
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
      if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          !IntegerFits(t, static_cast<int64_t>(v.u))) {
        return fail(std::to_string(v.u) + " does not fit " + GgufTypeName(t));
      }
      return Status::Ok();
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
      if (!IntegerFits(t, v.i))
        return fail(std::to_string(v.i) + " does not fit " + GgufTypeName(t));
      return Status::Ok();
    case GgufType::kFloat32:
      if (!FloatFits(t, v.f)) return fail(std::to_string(v.f) + " does not fit float32");
      return Status::Ok();
    case GgufType::kArray:
      return CheckArray(key, v.array, 1);
    default:
      return Status::Ok();
  }
}

void PutArray(std::string* out, const GgufArray& a);

void PutScalarInt(std::string* out, GgufType t, int64_t v) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kBool:
      PutPod(out, static_cast<uint8_t>(v));
      break;
    case GgufType::kInt8:
      PutPod(out, static_cast<int8_t>(v));
      break;
    case GgufType::kUint16:
      PutPod(out, static_cast<uint16_t>(v));
      break;
    case GgufType::kInt16:
      PutPod(out, static_cast<int16_t>(v));
      break;
    case GgufType::kUint32:
      PutPod(out, static_cast<uint32_t>(v));
      break;
    case GgufType::kInt32:
      PutPod(out, static_cast<int32_t>(v));
      break;
    case GgufType::kUint64:
      PutPod(out, static_cast<uint64_t>(v));
      break;
    default:
      PutPod(out, v);
      break;
  }
}

void PutValue(std::string* out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
      PutScalarInt(out, v.type, static_cast<int64_t>(v.u));
      break;
    case GgufType::kUint64:
      PutPod(out, v.u);
      break;
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      PutScalarInt(out, v.type, v.i);
      break;
    case GgufType::kBool:
      PutPod<uint8_t>(out, v.b ? 1 : 0);
      break;
    case GgufType::kFloat32:
      PutPod(out, static_cast<float>(v.f));
      break;
    case GgufType::kFloat64:
      PutPod(out, v.f);
      break;
    case GgufType::kString:
      PutString(out, v.s);
      break;
    case GgufType::kArray:
      PutArray(out, v.array);
      break;
  }
}

void PutArray(std::string* out, const GgufArray& a) {
  PutPod(out, static_cast<uint32_t>(a.elem_type));
  PutPod<uint64_t>(out, a.size());
  switch (a.elem_type) {
    case GgufType::kFloat32:
      for (double f : a.floats) PutPod(out, static_cast<float>(f));
      break;
    case GgufType::kFloat64:
      for (double f : a.floats) PutPod(out, f);
      break;
    case GgufType::kString:
      for (const std::string& s : a.strings) PutString(out, s);
      break;
    case GgufType::kArray:
      for (const GgufArray& inner : a.arrays) PutArray(out, inner);
      break;
    default:
      for (int64_t v : a.ints) PutScalarInt(out, a.elem_type, v);
      break;
  }
}

GgufValue Scalar(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}

}  // namespace

void GgufWriter::Put(std::string_view key, GgufValue value) {
  Status st = CheckKey(key);
  R1D_CHECK_MSG(st.ok(), st.message().c_str());
  auto it = metadata_index_.find(std::string(key));
  if (it != metadata_index_.end()) {
    metadata_[it->second].second = std::move(value);
    return;
  }
  metadata_index_.emplace(std::string(key), metadata_.size());
  metadata_.emplace_back(std::string(key), std::move(value));
}

void GgufWriter::SetUint8(std::string_view key, uint8_t v) {
  GgufValue x = Scalar(GgufType::kUint8);
  x.u = v;
  Put(key, std::move(x));
}
void GgufWriter::SetInt8(std::string_view key, int8_t v) {
  GgufValue x = Scalar(GgufType::kInt8);
  x.i = v;
  Put(key, std::move(x));
}
void GgufWriter::SetUint16(std::string_view key, uint16_t v) {
  GgufValue x = Scalar(GgufType::kUint16);
  x.u = v;
  Put(key, std::move(x));
}
void GgufWriter::SetInt16(std::string_view key, int16_t v) {
  GgufValue x = Scalar(GgufType::kInt16);
  x.i = v;
  Put(key, std::move(x));
}
void GgufWriter::SetUint32(std::string_view key, uint32_t v) {
  GgufValue x = Scalar(GgufType::kUint32);
  x.u = v;
  Put(key, std::move(x));
}
void GgufWriter::SetInt32(std::string_view key, int32_t v) {
  GgufValue x = Scalar(GgufType::kInt32);
  x.i = v;
  Put(key, std::move(x));
}
void GgufWriter::SetUint64(std::string_view key, uint64_t v) {
  GgufValue x = Scalar(GgufType::kUint64);
  x.u = v;
  Put(key, std::move(x));
}
void GgufWriter::SetInt64(std::string_view key, int64_t v) {
  GgufValue x = Scalar(GgufType::kInt64);
  x.i = v;
  Put(key, std::move(x));
}
void GgufWriter::SetFloat32(std::string_view key, float v) {
  GgufValue x = Scalar(GgufType::kFloat32);
  x.f = v;
  Put(key, std::move(x));
}
void GgufWriter::SetFloat64(std::string_view key, double v) {
  GgufValue x = Scalar(GgufType::kFloat64);
  x.f = v;
  Put(key, std::move(x));
}
void GgufWriter::SetBool(std::string_view key, bool v) {
  GgufValue x = Scalar(GgufType::kBool);
  x.b = v;
  Put(key, std::move(x));
}
void GgufWriter::SetString(std::string_view key, std::string_view v) {
  GgufValue x = Scalar(GgufType::kString);
  x.s = std::string(v);
  Put(key, std::move(x));
}
void GgufWriter::SetStringArray(std::string_view key, const std::vector<std::string>& v) {
  GgufValue x = Scalar(GgufType::kArray);
  x.array.elem_type = GgufType::kString;
  x.array.strings = v;
  Put(key, std::move(x));
}
void GgufWriter::SetFloat32Array(std::string_view key, const std::vector<float>& v) {
  GgufValue x = Scalar(GgufType::kArray);
  x.array.elem_type = GgufType::kFloat32;
  x.array.floats.assign(v.begin(), v.end());
  Put(key, std::move(x));
}
void GgufWriter::SetInt32Array(std::string_view key, const std::vector<int32_t>& v) {
  GgufValue x = Scalar(GgufType::kArray);
  x.array.elem_type = GgufType::kInt32;
  x.array.ints.assign(v.begin(), v.end());
  Put(key, std::move(x));
}
void GgufWriter::SetUint32Array(std::string_view key, const std::vector<uint32_t>& v) {
  GgufValue x = Scalar(GgufType::kArray);
  x.array.elem_type = GgufType::kUint32;
  x.array.ints.assign(v.begin(), v.end());
  Put(key, std::move(x));
}

Status GgufWriter::SetValue(std::string_view key, const GgufValue& value) {
  R1D_RETURN_IF_ERROR(CheckValue(key, value));
  Put(key, value);
  return Status::Ok();
}

Status GgufWriter::SetArray(std::string_view key, const GgufArray& array) {
  GgufValue v = Scalar(GgufType::kArray);
  v.array = array;
  R1D_RETURN_IF_ERROR(CheckValue(key, v));
  Put(key, std::move(v));
  return Status::Ok();
}

Status GgufWriter::SetAlignment(uint32_t alignment) {
  if (alignment == 0 || !std::has_single_bit(alignment) || alignment > kGgufMaxAlignment) {
    return Status::Error("GGUF writer: alignment " + std::to_string(alignment) +
                         " must be a power of two between 1 and " +
                         std::to_string(kGgufMaxAlignment));
  }
  SetUint32(kGgufAlignmentKey, alignment);
  return Status::Ok();
}

uint64_t GgufWriter::alignment() const {
  auto it = metadata_index_.find(std::string(kGgufAlignmentKey));
  if (it == metadata_index_.end()) return kGgufDefaultAlignment;
  const GgufValue& v = metadata_[it->second].second;
  if (v.type != GgufType::kUint32 || v.u == 0 || !std::has_single_bit(v.u) ||
      v.u > kGgufMaxAlignment) {
    return kGgufDefaultAlignment;
  }
  return v.u;
}

Status GgufWriter::AddTensor(std::string_view name, tensor::DType type,
                             const std::vector<int64_t>& ne, std::string_view data) {
  const std::string prefix = "GGUF writer: tensor '" + std::string(name) + "': ";
  if (name.empty() || name.size() > kGgufMaxNameLength) {
    return Status::Error(prefix + "name must have 1 to " + std::to_string(kGgufMaxNameLength) +
                         " bytes");
  }
  if (tensor_index_.count(std::string(name)) != 0) {
    return Status::Error(prefix + "duplicate tensor name");
  }
  if (ne.empty() || ne.size() > kGgufMaxDims) {
    return Status::Error(prefix + "needs 1 to 4 dimensions, got " + std::to_string(ne.size()));
  }
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d < 1) return Status::Error(prefix + "dimension " + std::to_string(d) + " is below 1");
    if (__builtin_mul_overflow(n, d, &n)) {
      return Status::Error(prefix + "element count overflows int64");
    }
  }
  const tensor::DTypeInfo& info = tensor::GetDTypeInfo(type);
  if (ne[0] % info.block_elems != 0) {
    return Status::Error(prefix + "ne[0] = " + std::to_string(ne[0]) +
                         " is not a multiple of the " + info.name + " block size " +
                         std::to_string(info.block_elems));
  }
  uint64_t row_bytes = 0;
  uint64_t n_bytes = 0;
  if (!CheckedMul(static_cast<uint64_t>(ne[0] / info.block_elems),
                  static_cast<uint64_t>(info.block_bytes), &row_bytes) ||
      !CheckedMul(row_bytes, static_cast<uint64_t>(n / ne[0]), &n_bytes)) {
    return Status::Error(prefix + "data size overflows 64 bits");
  }
  if (data.size() != n_bytes) {
    return Status::Error(prefix + "has " + std::to_string(data.size()) + " bytes of data, " +
                         info.name + " with this shape needs " + std::to_string(n_bytes));
  }
  tensor_index_.emplace(std::string(name), tensors_.size());
  tensors_.push_back(Tensor{std::string(name), type, ne, std::string(data)});
  return Status::Ok();
}

std::string GgufWriter::Header() const {
  const uint64_t a = alignment();
  std::string out;
  out.append("GGUF", 4);
  PutPod<uint32_t>(&out, 3);
  PutPod<uint64_t>(&out, tensors_.size());
  PutPod<uint64_t>(&out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    PutString(&out, key);
    PutPod(&out, static_cast<uint32_t>(value.type));
    PutValue(&out, value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    PutPod<uint32_t>(&out, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) PutPod<uint64_t>(&out, static_cast<uint64_t>(d));
    PutPod(&out, static_cast<uint32_t>(t.type));
    PutPod(&out, offset);
    offset = AlignUp(offset + t.data.size(), a);
  }
  // Like llama.cpp, a file without tensors ends right after its metadata.
  if (!tensors_.empty()) out.resize(AlignUp(out.size(), a), '\0');
  return out;
}

std::string GgufWriter::Finish() const {
  const uint64_t a = alignment();
  std::string out = Header();
  for (const Tensor& t : tensors_) {
    out.append(t.data);
    out.resize(AlignUp(out.size(), a), '\0');
  }
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "wb"));
  if (!f) return Status::Error(path + ": cannot create: " + std::strerror(errno));
  const uint64_t a = alignment();
  const std::string header = Header();
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  const std::string zeros(a, '\0');
  for (const Tensor& t : tensors_) {
    if (!ok) break;
    ok = std::fwrite(t.data.data(), 1, t.data.size(), f.get()) == t.data.size();
    const size_t pad = AlignUp(t.data.size(), a) - t.data.size();
    ok = ok && std::fwrite(zeros.data(), 1, pad, f.get()) == pad;
  }
  if (!ok) return Status::Error(path + ": write failed: " + std::strerror(errno));
  if (std::fclose(f.release()) != 0) {
    return Status::Error(path + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace r1d::formats
