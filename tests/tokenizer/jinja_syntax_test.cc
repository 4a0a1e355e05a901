// Lexing, whitespace control and parsing. Expected renders come from the reference (Jinja2 3.1
// with trim_blocks + lstrip_blocks, as transformers renders chat templates).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/jinja/template.h"

namespace r1d::tokenizer::jinja {
namespace {

struct Case {
  const char* tmpl;
  const char* expected;
  bool ok;
};

const Case kCases[] = {
    // clang-format off
    {R"~(a
  {% if true %}
    b
  {% endif %}
c)~", R"~(a
    b
c)~", true},
    {R"~(a {% if true %} b {% endif %} c)~", R"~(a  b  c)~", true},
    {R"~(  {%- if true -%}  x  {%- endif -%}  
y)~", R"~(xy)~", true},
    {R"~({% for i in range(3) %}
  {{ i }}
{% endfor %})~", R"~(  0
  1
  2
)~", true},
    {R"~({% for i in range(3) -%}
  {{ i }}
{%- endfor %})~", R"~(012)~", true},
    {R"~(  {{ s }}
  {# comment #}
  {%+ if true %}kept{% endif %}
  {% if true +%}
no-trim{% endif %})~", R"~(  Hello World
  kept
no-trim)~", true},
    {R"~({# multi
line
comment #}
x {#- strip -#}   y)~", R"~(xy)~", true},
    {R"~({% raw %}{{ not evaluated }}{% endraw %})~", R"~({{ not evaluated }})~", true},
    {R"~(  {% raw -%}   {{ x }}  {%- endraw %}  after)~", R"~({{ x }}  after)~", true},
    {R"~(line1
{%- set x = 1 %}
line2
{% set y = 2 -%}
   line3)~", R"~(line1line2
line3)~", true},
    {R"~({{- "a" -}}
   {{- "b" }}
   {{ "c" -}}

   d)~", R"~(ab
   cd)~", true},
    {R"~(text with one trailing newline dropped
)~", R"~(text with one trailing newline dropped)~", true},
    {R"~({{ 'it''s' }} {{ "a" "b" 'c' }} {{ 'tab\there' }} {{ "uni\u00e9\U0001F600" }} {{ 'oct\101' }} {{ 'unknown\d' }} {{ "x\
y" }})~", R"~(its abc tab	here unié😀 octA unknown\d xy)~", true},
    {R"~({{ 1_000 }} {{ 0x1f }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 1E-2 }} {{ 10.0 }})~", R"~(1000 31 15 5 1500.0 0.01 10.0)~", true},
    {R"~({{ l.0 }} {{ (1, 2).1 }} {{ {'x': 1}['x'] }} {{ [1,2,3][1:] }} {{ {'a': {'b': 1}} }})~", R"~(3 2 1 [2, 3] {'a': {'b': 1}})~", true},
    {R"~({%- macro m() -%}
  inner
{%- endmacro -%}
[{{ m() }}])~", R"~([inner])~", true},
    {R"~({%- set x = "A" -%}{%- if x == "A" -%}
    {{ "yes" }}
{%- elif x == "B" -%}
    {{ "b" }}
{%- else -%}
    {{ "no" }}
{%- endif -%})~", R"~(yes)~", true},
    {R"~({% for a in [1,2] %}{% for b in [3,4] %}{{ a }}{{ b }}{% if b == 3 %}{% continue %}{% endif %}!{% endfor %};{% endfor %})~", R"~(1314!;2324!;)~", true},
    {R"~({{ 1 if 0 else 2 if 0 else 3 }} {{ not 1 == 2 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 1 + 2 * 3 - 4 / 2 }} {{ 7 // 2 * 2 }} {{ -l|length if false else -1 }})~", R"~(3 True 4 64 5.0 6 -1)~", true},
    {R"~({% if s is defined and s|length > 3 and not n %}ok{% endif %}{% if x is not defined %}!{% endif %})~", R"~(ok!)~", true},
        {R"~({%- if true %}
    {%- set a = 1 %}
{%- endif %}
[{{ a }}]
   {%- for x in [1] %}

{{ x }}
   {%- endfor %}
)~", R"~([1]
1)~", true},
    // clang-format on

};

const char* kContext =
    R"~({"s": "Hello World", "n": null, "i": 7, "f": 2.5, "t": true, "l": [3, 1, 2], "e": [], "u": "\u00fcn\u00ef", "d": {"b": 1, "a": [1, 2, {"x": "y"}], "c": null}, "msgs": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>&</b>"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello!"}]})~";

Result<std::string> Render(const std::string& tmpl) {
  Result<Template> t = Template::Parse(tmpl);
  if (!t.ok()) return t.status();
  return t->Render(nlohmann::ordered_json::parse(kContext));
}

TEST(JinjaSyntax, WhitespaceControlMatchesReference) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.tmpl);
    Result<std::string> out = Render(c.tmpl);
    ASSERT_EQ(out.ok(), c.ok) << (out.ok() ? *out : out.status().message());
    if (c.ok) {
      EXPECT_EQ(*out, c.expected);
    }
  }
}

// transformers registers a {% generation %} tag (it marks assistant text for masks); plain
// rendering just outputs its body. {% block %} without inheritance renders in place too.
TEST(JinjaSyntax, GenerationAndBlockTagsRenderTheirBody) {
  Result<std::string> out = Render(
      "{% generation %}kept {{ s }}{% endgeneration %}|{% block b %}block body{% endblock %}");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "kept Hello World|block body");
}

TEST(JinjaSyntax, CarriageReturnsAreNormalized) {
  Result<std::string> out = Render("a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "a\nb\nc");
}

struct BadCase {
  const char* tmpl;
  int line;
  const char* message;  // a part of the expected message
};

TEST(JinjaSyntax, BrokenTemplatesReportLineAndReason) {
  const BadCase kBad[] = {
      {"line1\n{% for x in l %}\nbody", 3,
       "Jinja was looking for the following tags: 'endfor' or 'else'"},
      {"{% if true %}\n{% endfor %}", 2, "Encountered unknown tag 'endfor'"},
      {"ok\n\n{{ x", 3, "never closed"},
      {"{% if %}", 1, "Expected an expression"},
      {"\n{{ 1 + }}", 2, "unexpected 'end of print statement'"},
      {"{% foo %}", 1, "Encountered unknown tag 'foo'"},
      {"a\n{{ x|nosuchfilter }}", 2, "No filter named 'nosuchfilter'"},
      {"{{ x is nosuchtest }}", 1, "No test named 'nosuchtest'"},
      {"{% raw %}never closed", 1, "missing end of raw directive"},
      {"\n\n{# never closed", 3, "missing end of comment"},
      {"{{ 'unterminated }}", 1, "unterminated string literal"},
      {"{% break %}", 1, "'break' outside of a loop"},
      {"{% for x in l %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", 1,
       "'continue' outside of a loop"},
      {"{% set 1 = 2 %}", 1, "can't assign"},
      {"{{ 99999999999999999999 }}", 1, "integer literal too large"},
      {"{{ '\\xZZ' }}", 1, "truncated \\x escape"},
      {"{{ [1, 2 }}", 1, "unexpected '}', expected ']'"},
      {"{{ (1, 2] }}", 1, "unexpected ']', expected ')'"},
      {"{% if true %}{% else %}{% else %}{% endif %}", 1, "Encountered unknown tag 'else'"},
      {"{% macro m(a=1, b) %}{% endmacro %}", 1, "non-default argument follows default argument"},
      {"{{ a is defined is defined }}", 1, "You cannot chain multiple tests with is"},
      {"{{ x @ y }}", 1, "unexpected character '@'"},
  };
  for (const BadCase& c : kBad) {
    SCOPED_TRACE(c.tmpl);
    Result<Template> t = Template::Parse(c.tmpl, "t.jinja");
    ASSERT_FALSE(t.ok());
    const std::string& msg = t.status().message();
    EXPECT_NE(msg.find("t.jinja line " + std::to_string(c.line) + ":"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

TEST(JinjaSyntax, UnknownFilterInsideIfFailsOnlyWhenReached) {
  // Jinja2 defers the check inside if blocks (templates guard optional filters that way).
  EXPECT_EQ(*Render("{% if false %}{{ x|nosuch }}{% endif %}ok"), "ok");
  Result<std::string> out = Render("\n{% if true %}{{ x|nosuch }}{% endif %}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("line 2: No filter named 'nosuch'"), std::string::npos)
      << out.status().message();
}

TEST(JinjaSyntax, RuntimeErrorsNameTheLine) {
  Result<std::string> out = Render("one\ntwo\n{{ n + 'x' }}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("line 3: unsupported operand type(s) for +: 'NoneType'"),
            std::string::npos)
      << out.status().message();
}

TEST(JinjaSyntax, InvalidUtf8IsRejected) {
  Result<Template> t = Template::Parse("ok\n\xff\xfe", "bad.jinja");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("bad.jinja line 2"), std::string::npos)
      << t.status().message();
}

}  // namespace
}  // namespace r1d::tokenizer::jinja
