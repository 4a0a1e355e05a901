#pragma once
// Built-in filters, tests, globals and methods: name -> function tables. The parser resolves
// filter and test names once; the evaluator calls through these pointers.
#include <string_view>

#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

using FilterFn = Value (*)(Evaluator& ev, const Value& input, CallArgs& args);
using TestFn = bool (*)(Evaluator& ev, const Value& input, CallArgs& args);

// nullptr when unknown.
FilterFn FindFilter(std::string_view name);
TestFn FindTest(std::string_view name);

// Attribute lookup of Python methods on str / dict / list / tuple values: returns a bound
// method object, or nullopt when the type has no such method. Mutating methods of list and
// dict yield the sandbox's "unsafe" undefined, as in Jinja2's ImmutableSandboxedEnvironment.
std::optional<Value> GetMethod(const Value& self, std::string_view name);

// Global functions: range, dict, namespace, cycler, joiner, raise_exception, strftime_now.
void AddBuiltinGlobals(Dict& globals);

}  // namespace r1d::tokenizer::jinja
