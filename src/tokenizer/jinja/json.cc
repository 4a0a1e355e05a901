#include "tokenizer/jinja/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

constexpr int kMaxJsonDepth = 390;  // below Value's own nesting limit

template <class Json>
Value Convert(const Json& j, int depth) {
  if (depth > kMaxJsonDepth)
    ThrowLimit("JSON input nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::None();
    case nlohmann::json::value_t::boolean:
      return Value::Bool(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value::Int(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::Float(static_cast<double>(u));
      return Value::Int(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value::Float(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value::String(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(Convert(item, depth + 1));
      return Value::List(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) {
        d.Set(Value::String(it.key()), Convert(it.value(), depth + 1));
      }
      return Value::MakeDict(std::move(d));
    }
    default:
      ThrowRuntime("unsupported JSON value (binary data)");
  }
}

void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  size_t pos = 0;
  char buf[16];
  while (pos < s.size()) {
    size_t start = pos;
    char32_t c = NextCodePoint(s, &pos);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else if (ensure_ascii && c >= 0x80) {
      if (c >= 0x10000) {
        char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                      static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      }
      out += buf;
    } else {
      out.append(s.substr(start, pos - start));
    }
  }
  out.push_back('"');
}

std::string FloatJson(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "Infinity" : "-Infinity";
  return FloatRepr(f);
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonDumpOptions& o) : o_(o) {}

  void Write(const Value& v, int level) {
    switch (v.kind()) {
      case ValueKind::kNone:
        out_ += "null";
        return;
      case ValueKind::kBool:
        out_ += v.AsBool() ? "true" : "false";
        return;
      case ValueKind::kInt:
        out_ += std::to_string(v.AsInt());
        return;
      case ValueKind::kFloat:
        out_ += FloatJson(v.AsFloat());
        return;
      case ValueKind::kString:
        AppendJsonString(out_, v.Str(), o_.ensure_ascii);
        return;
      case ValueKind::kList:
      case ValueKind::kTuple: {
        const ValueList& items = v.Items();
        if (items.empty()) {
          out_ += "[]";
          return;
        }
        out_ += "[";
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out_ += o_.item_separator;
          Newline(level + 1);
          Write(items[i], level + 1);
        }
        Newline(level);
        out_ += "]";
        return;
      }
      case ValueKind::kDict: {
        const auto& entries = v.GetDict().entries();
        if (entries.empty()) {
          out_ += "{}";
          return;
        }
        std::vector<std::pair<std::string, const Value*>> items;
        items.reserve(entries.size());
        for (const auto& [k, val] : entries) items.emplace_back(KeyString(k), &val);
        if (o_.sort_keys) {
          std::stable_sort(items.begin(), items.end(),
                           [](const auto& a, const auto& b) { return a.first < b.first; });
        }
        out_ += "{";
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out_ += o_.item_separator;
          Newline(level + 1);
          AppendJsonString(out_, items[i].first, o_.ensure_ascii);
          out_ += o_.key_separator;
          Write(*items[i].second, level + 1);
        }
        Newline(level);
        out_ += "}";
        return;
      }
      default:
        ThrowRuntime("Object of type " + TypeName(v) + " is not JSON serializable");
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  static std::string KeyString(const Value& k) {
    switch (k.kind()) {
      case ValueKind::kString:
        return k.Str();
      case ValueKind::kNone:
        return "null";
      case ValueKind::kBool:
        return k.AsBool() ? "true" : "false";
      case ValueKind::kInt:
        return std::to_string(k.AsInt());
      case ValueKind::kFloat:
        return FloatJson(k.AsFloat());
      default:
        ThrowRuntime("keys must be str, int, float, bool or None, not " + TypeName(k));
    }
  }

  void Newline(int level) {
    if (!o_.indent) return;
    out_ += '\n';
    for (int i = 0; i < level; ++i) out_ += *o_.indent;
  }

  const JsonDumpOptions& o_;
  std::string out_;
};

}  // namespace

Value FromJson(const nlohmann::ordered_json& j) { return Convert(j, 0); }
Value FromJson(const nlohmann::json& j) { return Convert(j, 0); }

std::string ToJson(const Value& v, const JsonDumpOptions& options) {
  JsonWriter w(options);
  w.Write(v, 0);
  return w.Take();
}

}  // namespace r1d::tokenizer::jinja
