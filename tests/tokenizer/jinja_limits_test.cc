// Sandbox limits: hostile or broken templates end with a clear error (naming the line) instead
// of a crash, a hang or unbounded memory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/jinja/template.h"

namespace r1d::tokenizer::jinja {
namespace {

Result<std::string> Render(const std::string& tmpl, const RenderOptions& options = {},
                           const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object()) {
  Result<Template> t = Template::Parse(tmpl);
  if (!t.ok()) return t.status();
  return t->Render(ctx, options);
}

void ExpectError(const Result<std::string>& r, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "rendered " << r->size() << " bytes";
  EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(JinjaLimits, HugeRangeIsRefusedLikeJinjaSandbox) {
  ExpectError(Render("{% for i in range(10**9) %}{% endfor %}"), "Range too big");
}

TEST(JinjaLimits, LoopIterationsAreBounded) {
  RenderOptions o;
  o.limits.max_loop_iterations = 5000;
  ExpectError(
      Render("\n{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", o),
      "line 2: template exceeded the loop iteration limit");
}

TEST(JinjaLimits, StepsAreBounded) {
  // Exponential macro recursion stays shallow but does 2^40 calls without a step budget.
  RenderOptions o;
  o.limits.max_steps = 100000;
  ExpectError(Render("{% macro m(d) %}{% if d < 40 %}{{ m(d+1) }}{{ m(d+1) }}{% endif %}"
                     "{% endmacro %}{{ m(0) }}",
                     o),
              "step limit");
}

TEST(JinjaLimits, InfiniteRecursionIsStopped) {
  ExpectError(Render("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}\n{{ r(0) }}"),
              "maximum recursion depth exceeded");
  ExpectError(Render("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}"),
              "maximum recursion depth exceeded");
}

TEST(JinjaLimits, OutputAndStringSizesAreBounded) {
  ExpectError(Render("{{ 'x' * 1000000000 }}"), "string longer than");
  RenderOptions o;
  o.limits.max_string_bytes = 100000;
  ExpectError(Render("{% for i in range(20000) %}{{ '0123456789' }}{% endfor %}", o),
              "output larger than");
  ExpectError(Render("{% set ns = namespace(s='x') %}{% for i in range(100) %}"
                     "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                     o),
              "string longer than");
  ExpectError(Render("{{ (range(20000)|list * 1000)|length }}"), "list longer than");
}

TEST(JinjaLimits, DeepNestingIsASyntaxErrorNotACrash) {
  ExpectError(Render("{{ " + Repeat("(", 20000) + "1" + Repeat(")", 20000) + " }}"),
              "nesting too deep");
  ExpectError(Render("{{ " + Repeat("[", 20000) + Repeat("]", 20000) + " }}"), "nesting too deep");
  ExpectError(Render("{{ " + Repeat("not ", 20000) + "1 }}"), "nesting too deep");
  ExpectError(Render("{{ " + Repeat("-", 20000) + "1 }}"), "nesting too deep");
  ExpectError(Render("{{ 1 " + Repeat("if 1 else 1 ", 20000) + "}}"), "nesting too deep");
  ExpectError(Render(Repeat("{% if true %}", 20000) + Repeat("{% endif %}", 20000)),
              "nesting too deep");
  ExpectError(Render("{{ 1" + Repeat(" + 1", 20000) + " }}"), "expression chain too long");
  ExpectError(Render("{{ x" + Repeat("|upper", 20000) + " }}"), "expression chain too long");
  ExpectError(Render("{{ x" + Repeat(".a", 20000) + " }}"), "expression chain too long");
}

TEST(JinjaLimits, DeepValuesAreBounded) {
  ExpectError(Render("{% set ns = namespace(l=[]) %}{% for i in range(20000) %}"
                     "{% set ns.l = [ns.l] %}{% endfor %}"),
              "nesting deeper than");
  ExpectError(Render("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}"),
              "maximum recursion depth");
  std::string deep = Repeat("[", 20000) + Repeat("]", 20000);
  ExpectError(Render("{{ x }}", {}, {{"x", nlohmann::ordered_json::parse(deep)}}),
              "nested deeper than");
}

TEST(JinjaLimits, TemplateLoadingIsNotAvailable) {
  ExpectError(Render("{% include 'other.jinja' %}"), "'include' is not supported");
  EXPECT_TRUE(Render("{% if false %}{% include 'other.jinja' %}{% endif %}").ok());
}

TEST(JinjaLimits, ImmutableSandboxRefusesMutation) {
  ExpectError(Render("{% set l = [1] %}{{ l.append(2) }}"),
              "access to attribute 'append' of 'list' object is unsafe.");
  ExpectError(Render("{% set d = {} %}{{ d.update({'a': 1}) }}"),
              "access to attribute 'update' of 'dict' object is unsafe.");
}

}  // namespace
}  // namespace r1d::tokenizer::jinja
