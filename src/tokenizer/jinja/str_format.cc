// Python's str.format() and its format-spec mini-language ("{:>10}", "{0:.2f}", "{name!r}").
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/methods_internal.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

struct Spec {
  std::string fill = " ";
  char align = 0;
  char sign = '-';
  bool alt = false;
  bool zero = false;
  int width = -1;
  char grouping = 0;
  int precision = -1;
  char type = 0;
};

Spec ParseSpec(const std::string& s) {
  Spec spec;
  std::u32string cps = DecodeUtf8(s);
  size_t i = 0;
  auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (cps.size() >= 2 && is_align(cps[1])) {
    spec.fill = EncodeUtf8(cps.substr(0, 1));
    spec.align = static_cast<char>(cps[1]);
    i = 2;
  } else if (!cps.empty() && is_align(cps[0])) {
    spec.align = static_cast<char>(cps[0]);
    i = 1;
  }
  if (i < cps.size() && (cps[i] == '+' || cps[i] == '-' || cps[i] == ' ')) {
    spec.sign = static_cast<char>(cps[i++]);
  }
  if (i < cps.size() && cps[i] == '#') {
    spec.alt = true;
    ++i;
  }
  if (i < cps.size() && cps[i] == '0') {
    spec.zero = true;
    ++i;
  }
  while (i < cps.size() && cps[i] >= '0' && cps[i] <= '9') {
    spec.width = std::max(spec.width, 0) * 10 + static_cast<int>(cps[i++] - '0');
    if (spec.width > (1 << 20)) ThrowRuntime("Too many decimal digits in format string");
  }
  if (i < cps.size() && (cps[i] == ',' || cps[i] == '_'))
    spec.grouping = static_cast<char>(cps[i++]);
  if (i < cps.size() && cps[i] == '.') {
    ++i;
    spec.precision = 0;
    bool any = false;
    while (i < cps.size() && cps[i] >= '0' && cps[i] <= '9') {
      spec.precision = spec.precision * 10 + static_cast<int>(cps[i++] - '0');
      if (spec.precision > (1 << 20)) ThrowRuntime("Too many decimal digits in format string");
      any = true;
    }
    if (!any) ThrowRuntime("Format specifier missing precision");
  }
  if (i < cps.size()) spec.type = static_cast<char>(cps[i++]);
  if (i != cps.size()) ThrowRuntime("Invalid format specifier");
  return spec;
}

std::string Group(const std::string& digits, char sep) {
  if (sep == 0) return digits;
  std::string out;
  int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out.push_back(digits[static_cast<size_t>(i)]);
    int rest = n - i - 1;
    if (rest > 0 && rest % 3 == 0) out.push_back(sep);
  }
  return out;
}

std::string Align(std::string body, std::string sign, const Spec& spec, char default_align) {
  char align = spec.align != 0 ? spec.align : (spec.zero ? '=' : default_align);
  std::string fill = spec.align == 0 && spec.zero ? "0" : spec.fill;
  int len = static_cast<int>(Utf8Length(body) + Utf8Length(sign));
  if (spec.width <= len) return sign + body;
  int pad = spec.width - len;
  auto repeat = [&](int n) {
    std::string s;
    for (int k = 0; k < n; ++k) s += fill;
    return s;
  };
  switch (align) {
    case '<':
      return sign + body + repeat(pad);
    case '>':
      return repeat(pad) + sign + body;
    case '=':
      return sign + repeat(pad) + body;
    default:
      return repeat(pad / 2) + sign + body + repeat(pad - pad / 2);
  }
}

std::string FormatValue(const Value& v, const std::string& spec_text) {
  if (spec_text.empty()) return ToStr(v);
  Spec spec = ParseSpec(spec_text);
  if (v.IsString()) {
    if (spec.type != 0 && spec.type != 's') {
      ThrowRuntime(std::string("Unknown format code '") + spec.type + "' for object of type 'str'");
    }
    std::string s = v.Str();
    if (spec.precision >= 0) {
      std::u32string cps = DecodeUtf8(s);
      if (cps.size() > static_cast<size_t>(spec.precision)) {
        s = EncodeUtf8(cps.substr(0, static_cast<size_t>(spec.precision)));
      }
    }
    return Align(s, "", spec, '<');
  }
  if (!v.IsNumber()) {
    ThrowRuntime("unsupported format string passed to " + TypeName(v) + ".__format__");
  }
  char type = spec.type;
  bool integer_type = type == 'd' || type == 'x' || type == 'X' || type == 'o' || type == 'b' ||
                      type == 'c' || type == 'n';
  if (v.IsIntLike() && (type == 0 || integer_type)) {
    int64_t x = v.AsInt();
    bool neg = x < 0;
    uint64_t mag = neg ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
    std::string body;
    if (type == 'c') {
      AppendUtf8(body, static_cast<char32_t>(mag));
    } else if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
      int base = type == 'o' ? 8 : (type == 'b' ? 2 : 16);
      const char* digits = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
      do {
        body.insert(body.begin(), digits[mag % static_cast<uint64_t>(base)]);
        mag /= static_cast<uint64_t>(base);
      } while (mag > 0);
      if (spec.alt) body = std::string("0") + (type == 'X' ? 'X' : type) + body;
    } else {
      body = Group(std::to_string(mag), spec.grouping);
    }
    std::string sign = neg ? "-" : (spec.sign == '+' ? "+" : (spec.sign == ' ' ? " " : ""));
    return Align(body, sign, spec, '>');
  }
  if (integer_type) {
    ThrowRuntime(std::string("Unknown format code '") + type + "' for object of type 'float'");
  }
  double x = v.AsFloat();
  bool neg = std::signbit(x) && !std::isnan(x);
  double mag = std::fabs(x);
  std::string body;
  int precision = spec.precision >= 0 ? std::min(spec.precision, 300) : 6;
  char buf[512];
  if (type == 0 && spec.precision < 0) {
    body = FloatRepr(mag);
  } else if (type == '%') {
    std::snprintf(buf, sizeof(buf), "%.*f", precision, mag * 100);
    body = std::string(buf) + "%";
  } else {
    char t = type == 0 ? 'g' : type;
    if (t != 'f' && t != 'F' && t != 'e' && t != 'E' && t != 'g' && t != 'G' && t != 'n') {
      ThrowRuntime(std::string("Unknown format code '") + type + "' for object of type 'float'");
    }
    if (t == 'n') t = 'g';
    std::string f = std::string("%") + (spec.alt ? "#" : "") + ".*" + t;
    std::snprintf(buf, sizeof(buf), f.c_str(), precision, mag);
    body = buf;
    if (type == 0 && body.find_first_of(".e") == std::string::npos &&
        body.find("inf") == std::string::npos && body.find("nan") == std::string::npos) {
      body += ".0";  // format(1.0, '.3') keeps a decimal point
    }
  }
  if (spec.grouping != 0 && std::isfinite(mag)) {
    size_t end = body.find_first_of(".eE%");
    if (end == std::string::npos) end = body.size();
    body = Group(body.substr(0, end), spec.grouping) + body.substr(end);
  }
  std::string sign = neg ? "-" : (spec.sign == '+' ? "+" : (spec.sign == ' ' ? " " : ""));
  return Align(body, sign, spec, '>');
}

}  // namespace

std::string PyStrFormat(Evaluator& ev, const std::string& fmt, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  bool used_auto = false, used_manual = false;
  size_t i = 0;
  while (i < fmt.size()) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        i += 2;
        continue;
      }
      ThrowRuntime("Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      i += 2;
      continue;
    }
    // Find the matching '}' (format specs may nest one level of {}).
    size_t j = i + 1;
    int depth = 1;
    while (j < fmt.size() && depth > 0) {
      if (fmt[j] == '{') ++depth;
      if (fmt[j] == '}') --depth;
      if (depth > 0) ++j;
    }
    if (j >= fmt.size()) ThrowRuntime("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, j - i - 1);
    i = j + 1;
    std::string spec;
    char conversion = 0;
    size_t colon = std::string::npos;
    size_t bang = std::string::npos;
    int bracket = 0;
    for (size_t k = 0; k < field.size(); ++k) {
      if (field[k] == '[') ++bracket;
      if (field[k] == ']') --bracket;
      if (bracket == 0 && field[k] == '!' && bang == std::string::npos) bang = k;
      if (bracket == 0 && field[k] == ':') {
        colon = k;
        break;
      }
    }
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (bang != std::string::npos && bang < field.size()) {
      if (bang + 2 != field.size()) ThrowRuntime("expected ':' after conversion specifier");
      conversion = field[bang + 1];
      field = field.substr(0, bang);
    }
    if (spec.find('{') != std::string::npos) spec = PyStrFormat(ev, spec, args);
    // arg_name, then .attr / [key] parts
    size_t end = field.find_first_of(".[");
    std::string arg_name = field.substr(0, end);
    Value v;
    if (arg_name.empty()) {
      if (used_manual)
        ThrowRuntime("cannot switch from manual field specification to automatic field numbering");
      used_auto = true;
      if (auto_index >= args.args.size())
        ThrowRuntime("Replacement index " + std::to_string(auto_index) +
                     " out of range for positional args tuple");
      v = args.args[auto_index++];
    } else if (arg_name.find_first_not_of("0123456789") == std::string::npos) {
      if (used_auto)
        ThrowRuntime("cannot switch from automatic field numbering to manual field specification");
      used_manual = true;
      size_t idx = arg_name.size() > 9 ? args.args.size() : std::stoul(arg_name);
      if (idx >= args.args.size())
        ThrowRuntime("Replacement index " + arg_name + " out of range for positional args tuple");
      v = args.args[idx];
    } else {
      bool found = false;
      for (auto& [k, val] : args.kwargs) {
        if (k == arg_name) {
          v = val;
          found = true;
        }
      }
      if (!found) ThrowRuntime("KeyError: " + StrRepr(arg_name));
    }
    size_t p = end;
    while (p != std::string::npos && p < field.size()) {
      if (field[p] == '.') {
        size_t q = field.find_first_of(".[", p + 1);
        v = ev.GetAttr(v,
                       field.substr(p + 1, q == std::string::npos ? std::string::npos : q - p - 1));
        p = q;
      } else {
        size_t q = field.find(']', p);
        if (q == std::string::npos) ThrowRuntime("Missing ']' in format string");
        std::string key = field.substr(p + 1, q - p - 1);
        bool digits = !key.empty() && key.size() < 18 &&
                      key.find_first_not_of("0123456789") == std::string::npos;
        v = ev.GetItem(v, digits ? Value::Int(std::stoll(key)) : Value::String(key));
        p = q + 1;
      }
    }
    if (conversion == 'r' || conversion == 'a') {
      v = Value::String(Repr(v));
    } else if (conversion == 's') {
      v = Value::String(ToStr(v));
    } else if (conversion != 0) {
      ThrowRuntime(std::string("Unknown conversion specifier ") + conversion);
    }
    out += FormatValue(v, spec);
    if (out.size() > ev.options().limits.max_string_bytes) ev.NewString(std::move(out));
  }
  return out;
}

}  // namespace r1d::tokenizer::jinja
