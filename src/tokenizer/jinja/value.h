#pragma once
// Values of the Jinja interpreter, with the Python semantics the reference (Jinja2 in Hugging
// Face's ImmutableSandboxedEnvironment) gives them: truthiness, str()/repr(), ==, ordering.
//
// Lists, tuples and dicts are immutable once built (the immutable sandbox forbids append/update
// and friends), so they are shared by shared_ptr<const ...> and copying a Value is cheap.
// Objects (namespace, loop, macros, iterators) have reference semantics, as in Python.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace r1d::tokenizer::jinja {

class Value;
class Dict;
class Object;
class Evaluator;
using ValueList = std::vector<Value>;

enum class ValueKind : uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,  // str, or markupsafe.Markup when markup() is set
  kList,
  kTuple,
  kDict,
  kObject,
};

class Value {
 public:
  Value() = default;  // an Undefined with no name
  static Value Undefined(std::string message);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  static Value Markup(std::string s);
  static Value List(ValueList items);
  static Value Tuple(ValueList items);
  static Value MakeDict(Dict dict);
  static Value MakeObject(std::shared_ptr<Object> obj);

  ValueKind kind() const { return kind_; }
  bool IsUndefined() const { return kind_ == ValueKind::kUndefined; }
  bool IsNone() const { return kind_ == ValueKind::kNone; }
  bool IsBool() const { return kind_ == ValueKind::kBool; }
  // Python: bool is a subclass of int.
  bool IsIntLike() const { return kind_ == ValueKind::kInt || kind_ == ValueKind::kBool; }
  bool IsNumber() const { return IsIntLike() || kind_ == ValueKind::kFloat; }
  bool IsFloat() const { return kind_ == ValueKind::kFloat; }
  bool IsString() const { return kind_ == ValueKind::kString; }
  bool IsMarkup() const { return kind_ == ValueKind::kString && markup_; }
  bool IsList() const { return kind_ == ValueKind::kList; }
  bool IsTuple() const { return kind_ == ValueKind::kTuple; }
  bool IsListOrTuple() const { return IsList() || IsTuple(); }
  bool IsDict() const { return kind_ == ValueKind::kDict; }
  bool IsObject() const { return kind_ == ValueKind::kObject; }

  bool AsBool() const { return b_; }
  int64_t AsInt() const { return kind_ == ValueKind::kBool ? (b_ ? 1 : 0) : i_; }
  double AsFloat() const { return kind_ == ValueKind::kFloat ? f_ : static_cast<double>(AsInt()); }
  const std::string& Str() const;             // kString
  const ValueList& Items() const;             // kList / kTuple
  const Dict& GetDict() const;                // kDict
  Object* Obj() const { return obj_.get(); }  // kObject
  const std::shared_ptr<Object>& ObjPtr() const { return obj_; }
  const std::string& UndefinedMessage() const;  // e.g. "'x' is undefined"
  // Nesting depth of lists/dicts, bounded so that building, printing and freeing values never
  // recurses deeper than the interpreter allows.
  int depth() const { return depth_; }

 private:
  ValueKind kind_ = ValueKind::kUndefined;
  bool markup_ = false;
  bool b_ = false;
  uint16_t depth_ = 0;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<const Dict> dict_;
  std::shared_ptr<Object> obj_;
};

// Insertion-ordered dict with Python key equality (1 == 1.0 == True; str keys by content).
class Dict {
 public:
  const Value* Find(const Value& key) const;
  const Value* FindStr(std::string_view key) const;
  // Inserts or replaces; throws TypeError for unhashable keys (list, dict).
  void Set(Value key, Value value);
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<std::pair<Value, Value>> entries_;
};

struct CallArgs {
  ValueList args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

// Objects with identity: namespace(), loop, macros, builtin functions, bound methods, iterators.
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string TypeName() const = 0;  // Python type name used in error messages
  virtual std::string Repr() const { return "<" + TypeName() + " object>"; }
  virtual std::optional<Value> GetAttr(std::string_view name) const;
  virtual bool SetAttr(std::string_view name, Value value);  // false: not assignable
  virtual bool IsCallable() const { return false; }
  virtual Value Call(Evaluator& ev, CallArgs& args);
  // Appends the remaining items; false when not iterable. Iterators are consumed (one pass).
  virtual bool Iterate(ValueList* out);
  virtual std::optional<size_t> Length() const { return std::nullopt; }
  virtual bool IsNamespace() const { return false; }
};

// ---- Python semantics -------------------------------------------------------------------------

std::string TypeName(const Value& v);  // "str", "NoneType", "list", "generator", ...
bool Truthy(const Value& v);
std::string ToStr(const Value& v);  // str(v); Undefined -> ""
std::string Repr(const Value& v);   // repr(v)
bool Equals(const Value& a, const Value& b);
// Python <, for sort/min/max and the < <= > >= operators; throws TypeError when unorderable.
bool LessThan(const Value& a, const Value& b);
bool IsHashable(const Value& v);

// Python float repr (shortest round trip; 1e+16 switches to exponent form).
std::string FloatRepr(double f);
// Python repr of a str ('...' or "..." with escapes).
std::string StrRepr(std::string_view s);
// markupsafe.escape of a plain string.
std::string HtmlEscape(std::string_view s);

}  // namespace r1d::tokenizer::jinja
