#include "formats/gguf_reader.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "core/checked_math.h"

namespace r1d::formats {

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader copies little-endian fields straight from the file");

namespace {

using std::to_string;

// Smallest possible encodings. Counts read from the file are bounded by (bytes left) / (minimum
// size of one item) before any container is sized by them, so a count of 2^60 costs nothing.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;                  // key len, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name, n_dims, one ne, type, off

bool IsUnsigned(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kUint16 || t == GgufType::kUint32 ||
         t == GgufType::kUint64;
}
bool IsSigned(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}
bool IsFloat(GgufType t) { return t == GgufType::kFloat32 || t == GgufType::kFloat64; }

// Bytes one value of `t` takes at least (exactly, for scalars).
uint64_t MinEncodedSize(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
    case GgufType::kString:  // the length field
      return 8;
    case GgufType::kArray:  // element type + count
      return 4 + 8;
  }
  return 1;
}

// Names and keys come from the file: escape control bytes and cap the length so that an error
// message stays one readable line whatever the file holds.
std::string Printable(std::string_view s) {
  constexpr size_t kMaxShown = 120;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

}  // namespace

const char* GgufTypeName(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

uint64_t GgufArray::size() const {
  switch (elem_type) {
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      return floats.size();
    case GgufType::kString:
      return strings.size();
    case GgufType::kArray:
      return arrays.size();
    default:
      return ints.size();
  }
}

// Walks the bytes once, front to back. Invariant: pos_ <= size_, so `size_ - pos_` (the bytes
// left) never wraps; every read first checks that its bytes exist.
class GgufParser {
 public:
  explicit GgufParser(GgufFile& file) : file_(file), data_(file.base_), size_(file.size_) {}

  Status Run() {
    R1D_RETURN_IF_ERROR(ParseHeader());
    R1D_RETURN_IF_ERROR(ParseMetadata());
    R1D_RETURN_IF_ERROR(ParseAlignment());
    R1D_RETURN_IF_ERROR(ParseTensorInfos());
    return PlaceTensorData();
  }

 private:
  uint64_t Left() const { return size_ - pos_; }

  // "<file>: <context>: <what>"; the context names the key or tensor being read.
  Status Fail(const std::string& what) const {
    std::string msg = file_.name_ + ": ";
    if (!context_.empty()) msg += context_ + ": ";
    return Status::Error(msg + what);
  }
  std::string PastEnd() const { return "past end of file (size " + to_string(size_) + ")"; }

  Status Need(uint64_t n, std::string_view what) const {
    if (n > Left()) {
      return Fail(std::string(what) + " at byte " + to_string(pos_) + " runs " + PastEnd());
    }
    return Status::Ok();
  }

  template <class T>
  Status Read(T* out, std::string_view what) {
    R1D_RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  // `count` items of at least `min_size` bytes each must fit in what is left.
  Status CheckCount(uint64_t count, uint64_t min_size, uint64_t at, std::string_view what) const {
    uint64_t need = 0;
    const bool overflow = !CheckedMul(count, min_size, &need);
    if (overflow || need > Left()) {
      return Fail(std::string(what) + " " + to_string(count) + " at byte " + to_string(at) +
                  " needs at least " + (overflow ? "2^64" : to_string(need)) +
                  " bytes, more than the " + to_string(Left()) + " left: " + PastEnd());
    }
    return Status::Ok();
  }

  Status ReadString(std::string* out, uint64_t max_len, std::string_view what) {
    uint64_t at = pos_;
    uint64_t len = 0;
    R1D_RETURN_IF_ERROR(Read(&len, std::string(what) + " length"));
    if (len > Left()) {
      return Fail(std::string(what) + " length " + to_string(len) + " at byte " + to_string(at) +
                  " runs " + PastEnd());
    }
    if (len > max_len) {
      return Fail(std::string(what) + " length " + to_string(len) + " at byte " + to_string(at) +
                  " exceeds the limit of " + to_string(max_len) + " bytes");
    }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status::Ok();
  }

  Status ReadTypeId(GgufType* out, std::string_view what) {
    uint64_t at = pos_;
    uint32_t raw = 0;
    R1D_RETURN_IF_ERROR(Read(&raw, what));
    if (raw > static_cast<uint32_t>(GgufType::kFloat64)) {
      return Fail("unknown " + std::string(what) + " id " + to_string(raw) + " at byte " +
                  to_string(at));
    }
    *out = static_cast<GgufType>(raw);
    return Status::Ok();
  }

  // Reads one scalar of an integer or bool type, widened to int64 (for arrays) and u/i (values).
  Status ReadInteger(GgufType t, uint64_t* u, int64_t* i) {
    uint64_t at = pos_;
    switch (t) {
      case GgufType::kUint8: {
        uint8_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "uint8 value"));
        *u = v;
        break;
      }
      case GgufType::kBool: {
        uint8_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "bool value"));
        if (v > 1) {
          return Fail("bool value " + to_string(v) + " at byte " + to_string(at) +
                      " is neither 0 nor 1");
        }
        *u = v;
        break;
      }
      case GgufType::kUint16: {
        uint16_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "uint16 value"));
        *u = v;
        break;
      }
      case GgufType::kUint32: {
        uint32_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "uint32 value"));
        *u = v;
        break;
      }
      case GgufType::kUint64:
        R1D_RETURN_IF_ERROR(Read(u, "uint64 value"));
        break;
      case GgufType::kInt8: {
        int8_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "int8 value"));
        *i = v;
        break;
      }
      case GgufType::kInt16: {
        int16_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "int16 value"));
        *i = v;
        break;
      }
      case GgufType::kInt32: {
        int32_t v = 0;
        R1D_RETURN_IF_ERROR(Read(&v, "int32 value"));
        *i = v;
        break;
      }
      case GgufType::kInt64:
        R1D_RETURN_IF_ERROR(Read(i, "int64 value"));
        break;
      default:
        R1D_CHECK_MSG(false, "ReadInteger called for a non-integer type");
    }
    return Status::Ok();
  }

  Status ReadFloat(GgufType t, double* out) {
    if (t == GgufType::kFloat32) {
      float v = 0;
      R1D_RETURN_IF_ERROR(Read(&v, "float32 value"));
      *out = v;
      return Status::Ok();
    }
    return Read(out, "float64 value");
  }

  // depth = nesting level of this array (a metadata value that is an array has depth 1).
  Status ReadArray(GgufArray* out, int depth) {
    uint64_t at = pos_;
    R1D_RETURN_IF_ERROR(ReadTypeId(&out->elem_type, "array element type"));
    const GgufType et = out->elem_type;
    if (et == GgufType::kArray && depth >= kGgufMaxArrayDepth) {
      return Fail("arrays nested deeper than " + to_string(kGgufMaxArrayDepth) +
                  " levels at byte " + to_string(at));
    }
    uint64_t count_at = pos_;
    uint64_t count = 0;
    R1D_RETURN_IF_ERROR(Read(&count, "array count"));
    R1D_RETURN_IF_ERROR(CheckCount(count, MinEncodedSize(et), count_at,
                                   std::string("array of ") + GgufTypeName(et) + ": count"));
    if (et == GgufType::kString) {
      out->strings.reserve(count);
      for (uint64_t k = 0; k < count; ++k) {
        out->strings.emplace_back();
        R1D_RETURN_IF_ERROR(ReadString(&out->strings.back(), Left(), "array string"));
      }
    } else if (et == GgufType::kArray) {
      out->arrays.reserve(count);
      for (uint64_t k = 0; k < count; ++k) {
        out->arrays.emplace_back();
        R1D_RETURN_IF_ERROR(ReadArray(&out->arrays.back(), depth + 1));
      }
    } else if (IsFloat(et)) {
      out->floats.resize(count);
      for (uint64_t k = 0; k < count; ++k) R1D_RETURN_IF_ERROR(ReadFloat(et, &out->floats[k]));
    } else {
      out->ints.resize(count);
      for (uint64_t k = 0; k < count; ++k) {
        uint64_t elem_at = pos_;
        uint64_t u = 0;
        int64_t i = 0;
        R1D_RETURN_IF_ERROR(ReadInteger(et, &u, &i));
        if (IsSigned(et)) {
          out->ints[k] = i;
        } else if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          // GgufArray keeps integers as int64; no real file needs larger array elements.
          return Fail("uint64 array element " + to_string(u) + " at byte " + to_string(elem_at) +
                      " exceeds INT64_MAX, which this reader does not support");
        } else {
          out->ints[k] = static_cast<int64_t>(u);
        }
      }
    }
    return Status::Ok();
  }

  Status ReadValue(GgufValue* v) {
    const GgufType t = v->type;
    if (t == GgufType::kString) return ReadString(&v->s, Left(), "string");
    if (t == GgufType::kArray) return ReadArray(&v->array, 1);
    if (IsFloat(t)) return ReadFloat(t, &v->f);
    R1D_RETURN_IF_ERROR(ReadInteger(t, &v->u, &v->i));
    if (t == GgufType::kBool) {
      v->b = v->u != 0;
      v->u = 0;
    }
    return Status::Ok();
  }

  Status ParseHeader() {
    if (size_ < 4) {
      return Fail("not a GGUF file: only " + to_string(size_) + " bytes, the 4-byte magic runs " +
                  PastEnd());
    }
    if (std::memcmp(data_, "GGUF", 4) != 0) {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (int k = 0; k < 4; ++k) {
        if (k > 0) hex += ' ';
        hex += kHex[data_[k] >> 4];
        hex += kHex[data_[k] & 15];
      }
      return Fail("not a GGUF file: bad magic at byte 0 (bytes " + hex +
                  ", expected 47 47 55 46 \"GGUF\")");
    }
    pos_ = 4;
    context_ = "header";
    uint32_t version = 0;
    R1D_RETURN_IF_ERROR(Read(&version, "version"));
    if (version == 0x02000000 || version == 0x03000000) {
      return Fail("this is a big-endian GGUF file; only little-endian files are supported");
    }
    if (version == 1) {
      return Fail("GGUF version 1 at byte 4 is not supported (only versions 2 and 3)");
    }
    if (version != 2 && version != 3) {
      return Fail("unsupported GGUF version " + to_string(version) +
                  " at byte 4 (only versions 2 and 3)");
    }
    file_.version_ = version;
    R1D_RETURN_IF_ERROR(Read(&tensor_count_, "tensor count"));
    R1D_RETURN_IF_ERROR(Read(&kv_count_, "metadata count"));
    R1D_RETURN_IF_ERROR(CheckCount(tensor_count_, kMinTensorInfoBytes, 8, "tensor count"));
    R1D_RETURN_IF_ERROR(CheckCount(kv_count_, kMinKvBytes, 16, "metadata count"));
    return Status::Ok();
  }

  Status ParseMetadata() {
    file_.metadata_.reserve(kv_count_);
    key_offsets_.reserve(kv_count_);
    for (uint64_t k = 0; k < kv_count_; ++k) {
      uint64_t at = pos_;
      context_ = "metadata entry " + to_string(k) + " (at byte " + to_string(at) + ")";
      std::string key;
      R1D_RETURN_IF_ERROR(ReadString(&key, kGgufMaxNameLength, "key"));
      if (key.empty()) return Fail("empty key");
      context_ = "key '" + Printable(key) + "' (at byte " + to_string(at) + ")";
      if (auto it = file_.metadata_index_.find(key); it != file_.metadata_index_.end()) {
        return Fail("duplicate key (first at byte " + to_string(key_offsets_[it->second]) + ")");
      }
      GgufValue value;
      R1D_RETURN_IF_ERROR(ReadTypeId(&value.type, "value type"));
      R1D_RETURN_IF_ERROR(ReadValue(&value));
      file_.metadata_index_.emplace(key, file_.metadata_.size());
      key_offsets_.push_back(at);
      file_.metadata_.emplace_back(std::move(key), std::move(value));
    }
    context_.clear();
    return Status::Ok();
  }

  Status ParseAlignment() {
    auto it = file_.metadata_index_.find(std::string(kGgufAlignmentKey));
    if (it == file_.metadata_index_.end()) return Status::Ok();
    context_ = "key '" + std::string(kGgufAlignmentKey) + "' (at byte " +
               to_string(key_offsets_[it->second]) + ")";
    const GgufValue& v = file_.metadata_[it->second].second;
    if (v.type != GgufType::kUint32) {
      return Fail(std::string("alignment must be of type uint32, found ") + GgufTypeName(v.type));
    }
    if (v.u == 0 || !std::has_single_bit(v.u) || v.u > kGgufMaxAlignment) {
      return Fail("alignment " + to_string(v.u) + " must be a power of two between 1 and " +
                  to_string(kGgufMaxAlignment));
    }
    file_.alignment_ = v.u;
    context_.clear();
    return Status::Ok();
  }

  Status ParseTensorInfo(GgufTensorInfo* info) {
    uint64_t at = pos_;
    R1D_RETURN_IF_ERROR(ReadString(&info->name, kGgufMaxNameLength, "tensor name"));
    if (info->name.empty()) return Fail("empty tensor name");
    context_ = "tensor '" + Printable(info->name) + "' (info at byte " + to_string(at) + ")";
    if (auto it = file_.tensor_index_.find(info->name); it != file_.tensor_index_.end()) {
      return Fail("duplicate tensor name (first at byte " + to_string(info_offsets_[it->second]) +
                  ")");
    }
    uint64_t dims_at = pos_;
    R1D_RETURN_IF_ERROR(Read(&info->n_dims, "n_dims"));
    if (info->n_dims < 1 || info->n_dims > kGgufMaxDims) {
      return Fail("n_dims " + to_string(info->n_dims) + " at byte " + to_string(dims_at) +
                  " must be between 1 and " + to_string(kGgufMaxDims));
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < info->n_dims; ++d) {
      uint64_t ne_at = pos_;
      uint64_t raw = 0;
      R1D_RETURN_IF_ERROR(Read(&raw, "dimension"));
      const auto ne = static_cast<int64_t>(raw);
      if (ne < 1) {
        return Fail("dimension ne[" + to_string(d) + "] = " + to_string(ne) + " at byte " +
                    to_string(ne_at) + " must be at least 1");
      }
      if (__builtin_mul_overflow(n_elements, ne, &n_elements)) {
        return Fail("element count overflows int64 at dimension ne[" + to_string(d) +
                    "] = " + to_string(ne) + " (byte " + to_string(ne_at) + ")");
      }
      info->ne[d] = ne;
    }
    uint64_t type_at = pos_;
    uint32_t type_id = 0;
    R1D_RETURN_IF_ERROR(Read(&type_id, "tensor type"));
    std::optional<tensor::DTypeInfo> dt = tensor::LookupDType(type_id);
    if (!dt) {
      return Fail("unknown tensor type id " + to_string(type_id) + " at byte " +
                  to_string(type_at));
    }
    if (!dt->supported) {
      return Fail(std::string("type ") + dt->name + " (" + to_string(type_id) + ") at byte " +
                  to_string(type_at) + " is not supported");
    }
    info->type = dt->type;
    if (info->ne[0] % dt->block_elems != 0) {
      return Fail("ne[0] = " + to_string(info->ne[0]) + " is not a multiple of the " + dt->name +
                  " block size " + to_string(dt->block_elems));
    }
    // Rows are whole blocks; n_elements fits int64, so does ne[0] / block_elems * rows.
    uint64_t row_bytes = 0;
    const uint64_t rows = static_cast<uint64_t>(n_elements / info->ne[0]);
    if (!CheckedMul(static_cast<uint64_t>(info->ne[0] / dt->block_elems),
                    static_cast<uint64_t>(dt->block_bytes), &row_bytes) ||
        !CheckedMul(row_bytes, rows, &info->n_bytes)) {
      return Fail("data size overflows 64 bits");
    }
    uint64_t offset_at = pos_;
    R1D_RETURN_IF_ERROR(Read(&info->offset, "data offset"));
    if (info->offset % file_.alignment_ != 0) {
      return Fail("data offset " + to_string(info->offset) + " at byte " + to_string(offset_at) +
                  " is not a multiple of the alignment " + to_string(file_.alignment_));
    }
    return Status::Ok();
  }

  Status ParseTensorInfos() {
    // Checked again here: the metadata may have used up the bytes the header check counted.
    R1D_RETURN_IF_ERROR(CheckCount(tensor_count_, kMinTensorInfoBytes, 8, "tensor count"));
    file_.tensors_.reserve(tensor_count_);
    info_offsets_.reserve(tensor_count_);
    for (uint64_t k = 0; k < tensor_count_; ++k) {
      uint64_t at = pos_;
      context_ = "tensor " + to_string(k) + " (info at byte " + to_string(at) + ")";
      GgufTensorInfo info;
      R1D_RETURN_IF_ERROR(ParseTensorInfo(&info));
      file_.tensor_index_.emplace(info.name, file_.tensors_.size());
      info_offsets_.push_back(at);
      file_.tensors_.push_back(std::move(info));
    }
    context_.clear();
    return Status::Ok();
  }

  Status TensorFail(size_t k, const std::string& what) {
    context_ = "tensor '" + Printable(file_.tensors_[k].name) + "' (info at byte " +
               to_string(info_offsets_[k]) + ")";
    return Fail(what);
  }

  Status PlaceTensorData() {
    // The data section starts at the next multiple of the alignment. A file without tensors
    // (a vocabulary) may end before that point, which is fine: nothing is read there.
    const uint64_t a = file_.alignment_;
    uint64_t padded = 0;
    if (!CheckedAdd(pos_, a - 1, &padded)) return Fail("data section offset overflows");
    file_.data_offset_ = padded & ~(a - 1);

    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end) in the file
    ranges.reserve(file_.tensors_.size());
    for (size_t k = 0; k < file_.tensors_.size(); ++k) {
      GgufTensorInfo& t = file_.tensors_[k];
      uint64_t begin = 0;
      uint64_t end = 0;
      if (!CheckedAdd(file_.data_offset_, t.offset, &begin) ||
          !CheckedAdd(begin, t.n_bytes, &end)) {
        return TensorFail(k, "data offset " + to_string(t.offset) + " + size " +
                                 to_string(t.n_bytes) + " after the data section at byte " +
                                 to_string(file_.data_offset_) + " wraps around 2^64, " +
                                 PastEnd());
      }
      if (end > size_) {
        return TensorFail(k, "data [" + to_string(begin) + ", " + to_string(end) +
                                 ") extends past end of file (size " + to_string(size_) + ")");
      }
      t.data = data_ + begin;
      ranges.emplace_back(begin, end);
    }
    std::vector<size_t> order(ranges.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return ranges[x] < ranges[y]; });
    for (size_t k = 1; k < order.size(); ++k) {
      const auto& prev = ranges[order[k - 1]];
      const auto& cur = ranges[order[k]];
      if (cur.first < prev.second) {
        return TensorFail(order[k],
                          "data [" + to_string(cur.first) + ", " + to_string(cur.second) +
                              ") overlaps tensor '" + Printable(file_.tensors_[order[k - 1]].name) +
                              "' [" + to_string(prev.first) + ", " + to_string(prev.second) + ")");
      }
    }
    return Status::Ok();
  }

  GgufFile& file_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  std::string context_;
  std::vector<uint64_t> key_offsets_;   // file offset of each metadata entry
  std::vector<uint64_t> info_offsets_;  // file offset of each tensor info
};

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapping, MappedFile::Open(path));
  const uint8_t* data = mapping->data();
  size_t size = mapping->size();
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, Parse(data, size, path));
  file->mapping_ = std::move(mapping);
  return file;
}

void GgufFile::ReleasePages(const void* p, size_t bytes) const {
  if (mapping_ != nullptr) mapping_->ReleasePages(p, bytes);
}

Result<std::unique_ptr<GgufFile>> GgufFile::Parse(const uint8_t* data, size_t size,
                                                  std::string display_name) {
  std::unique_ptr<GgufFile> file(new GgufFile());  // private constructor: no make_unique
  file->name_ = std::move(display_name);
  file->base_ = data;
  file->size_ = size;
  GgufParser parser(*file);
  R1D_RETURN_IF_ERROR(parser.Run());
  return file;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = metadata_index_.find(std::string(key));
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Status Missing(const std::string& file, std::string_view key) {
  return Status::Error(file + ": key '" + Printable(key) + "' not found");
}
Status WrongType(const std::string& file, std::string_view key, const char* expected,
                 GgufType actual) {
  return Status::Error(file + ": key '" + Printable(key) + "' has type " + GgufTypeName(actual) +
                       ", expected " + expected);
}

}  // namespace

Result<uint64_t> GgufFile::GetUint(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(name_, key);
  if (IsUnsigned(v->type)) return v->u;
  if (IsSigned(v->type)) {
    if (v->i >= 0) return static_cast<uint64_t>(v->i);
    return Status::Error(name_ + ": key '" + Printable(key) + "' is " + to_string(v->i) +
                         ", expected a non-negative integer");
  }
  return WrongType(name_, key, "an unsigned integer", v->type);
}

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(name_, key);
  if (IsSigned(v->type)) return v->i;
  if (IsUnsigned(v->type)) {
    if (v->u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(v->u);
    }
    return Status::Error(name_ + ": key '" + Printable(key) + "' is " + to_string(v->u) +
                         ", which does not fit int64");
  }
  return WrongType(name_, key, "an integer", v->type);
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(name_, key);
  if (IsFloat(v->type)) return v->f;
  return WrongType(name_, key, "float32 or float64", v->type);
}

Result<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(name_, key);
  if (v->type == GgufType::kBool) return v->b;
  return WrongType(name_, key, "bool", v->type);
}

Result<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(name_, key);
  if (v->type == GgufType::kString) return v->s;
  return WrongType(name_, key, "string", v->type);
}

Result<const GgufArray*> GgufFile::GetArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(name_, key);
  if (v->type == GgufType::kArray) return &v->array;
  return WrongType(name_, key, "array", v->type);
}

Result<uint64_t> GgufFile::GetUintOr(std::string_view key, uint64_t fallback) const {
  return Has(key) ? GetUint(key) : Result<uint64_t>(fallback);
}
Result<double> GgufFile::GetFloatOr(std::string_view key, double fallback) const {
  return Has(key) ? GetFloat(key) : Result<double>(fallback);
}
Result<bool> GgufFile::GetBoolOr(std::string_view key, bool fallback) const {
  return Has(key) ? GetBool(key) : Result<bool>(fallback);
}
Result<std::string> GgufFile::GetStringOr(std::string_view key, std::string fallback) const {
  return Has(key) ? GetString(key) : Result<std::string>(std::move(fallback));
}

}  // namespace r1d::formats
