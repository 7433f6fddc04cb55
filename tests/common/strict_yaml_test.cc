#include "common/strict_yaml.h"

#include <gtest/gtest.h>

namespace bottle {
namespace {

std::string load_error(std::string_view text) {
  auto r = load_strict_yaml(text, "f.yaml");
  return r.ok() ? std::string() : r.error();
}

TEST(StrictYaml, AcceptsPlainDocument) {
  auto r = load_strict_yaml("a: 1\nb: [x, y]\n", "f.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)["b"][1].Scalar(), "y");
}

TEST(StrictYaml, RejectsAnchorsAndAliases) {
  EXPECT_EQ(load_error("a: &x 1\nb: *x\n"), "f.yaml:1:4: anchors (&name) are not allowed; write the value out");
  EXPECT_NE(load_error("a: [1]\nb: *x\n"), "");
}

TEST(StrictYaml, RejectsTags) {
  EXPECT_EQ(load_error("a: !!str 1\n"), "f.yaml:1:4: tags ('tag:yaml.org,2002:str') are not allowed");
}

TEST(StrictYaml, RejectsDuplicateKeys) {
  EXPECT_EQ(load_error("a: 1\nb: 2\na: 3\n"), "f.yaml:3:1: duplicate key 'a'");
  EXPECT_EQ(load_error("m:\n  x: 1\n  x: 2\n"), "f.yaml:3:3: duplicate key 'x'");
  EXPECT_EQ(load_error("- {x: 1}\n- {x: 2}\n"), "");  // same key in sibling maps is fine
}

TEST(StrictYaml, RejectsTabIndentation) {
  EXPECT_EQ(load_error("a:\n\tb: 1\n"), "f.yaml:2:1: tab in indentation; indent with spaces");
  EXPECT_EQ(load_error("a: \"x\ty\"\n"), "");
}

TEST(StrictYaml, ReportsSyntaxErrorsWithPosition) {
  EXPECT_EQ(load_error("a: [1, 2\n").substr(0, 9), "f.yaml:2:");
}

TEST(StrictYaml, RejectsSecondDocument) {
  EXPECT_EQ(load_error("a: 1\n---\nb: 2\n"), "f.yaml: more than one YAML document; expected one");
}

TEST(StrictYaml, LineOffsetShiftsPositions) {
  auto r = load_strict_yaml("a: &x 1\n", "agent.md", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().substr(0, 12), "agent.md:2:4");
}

TEST(StrictYaml, SurprisingScalarsAreRefusedAsStrings) {
  for (const char* v : {"yes", "No", "on", "0755", "1.10", "2024-01-02", "1:30", "1e3", "0x1F", ".inf"}) {
    auto root = *load_strict_yaml(std::string("v: ") + v + "\n", "f.yaml");
    MapReader r("f.yaml", root, "test");
    EXPECT_FALSE(r.str("v").has_value()) << v;
    EXPECT_NE(r.error().find("quote it"), std::string::npos) << v << ": " << r.error();
  }
  for (const char* v : {"hello", "\"yes\"", "'0755'", "123", "v1.2.3", "a:b"}) {
    auto root = *load_strict_yaml(std::string("v: ") + v + "\n", "f.yaml");
    MapReader r("f.yaml", root, "test");
    EXPECT_TRUE(r.str("v").has_value()) << v << ": " << r.error();
  }
}

TEST(StrictYaml, NullIsNotAString) {
  for (const char* v : {"~", "null", ""}) {
    auto root = *load_strict_yaml(std::string("v: ") + v + "\n", "f.yaml");
    MapReader r("f.yaml", root, "test");
    EXPECT_FALSE(r.str("v").has_value()) << v;
    EXPECT_EQ(r.error(), "f.yaml:1:1: 'v' must be a string") << v;
  }
}

TEST(StrictYaml, OnlyTrueAndFalseAreBooleans) {
  auto root = *load_strict_yaml("a: true\nb: yes\nc: \"true\"\n", "f.yaml");
  MapReader r("f.yaml", root, "test");
  EXPECT_EQ(r.boolean("a"), true);
  EXPECT_FALSE(r.boolean("b").has_value());
  EXPECT_EQ(r.error(), "f.yaml:2:4: 'b' must be true or false (got 'yes')");
  MapReader r2("f.yaml", root, "test");
  EXPECT_FALSE(r2.boolean("c").has_value());
}

TEST(StrictYaml, UnknownKeySuggestsNearest) {
  auto root = *load_strict_yaml("method_s: GET\n", "f.yaml");
  MapReader r("f.yaml", root, "match");
  r.str("method");
  r.node("path");
  r.finish();
  EXPECT_EQ(r.error(), "f.yaml:1:1: unknown key 'method_s' in match (did you mean 'method'?)");
}

TEST(StrictYaml, DidYouMeanStaysQuietForFarKeys) {
  EXPECT_EQ(did_you_mean("zzzzzz", {"host", "port"}), "");
  EXPECT_EQ(did_you_mean("hots", {"host", "port"}), "host");
}

TEST(StrictYaml, IntegerBounds) {
  auto root = *load_strict_yaml("p: 70000\nq: abc\nr: 0x10\n", "f.yaml");
  MapReader r("f.yaml", root, "t");
  EXPECT_FALSE(r.integer("p", 1, 65535));
  EXPECT_EQ(r.error(), "f.yaml:1:4: 'p' must be between 1 and 65535 (got 70000)");
  MapReader r2("f.yaml", root, "t");
  EXPECT_FALSE(r2.integer("q", 0, 10));
  EXPECT_EQ(r2.error(), "f.yaml:2:4: 'q' must be an integer");
  MapReader r3("f.yaml", root, "t");
  EXPECT_FALSE(r3.integer("r", 0, 100));
}

TEST(StrictYaml, NonMapIsAnError) {
  auto root = *load_strict_yaml("- a\n", "f.yaml");
  MapReader r("f.yaml", root, "routes file");
  EXPECT_EQ(r.error(), "f.yaml:1:1: routes file must be a mapping (key: value)");
  EXPECT_FALSE(r.str("x"));  // no crash reading from a non-map
}

}  // namespace
}  // namespace bottle
