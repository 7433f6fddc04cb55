// Writes YAML that reads back exactly as meant under strict loading: a scalar quoted in
// the source (or built by us as text) stays quoted, so "2023-06-01" never turns into a
// date and "on" never into a boolean when a manifest fragment is re-rendered.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace bottle::config {

// A scalar emitted without quotes (numbers, true/false). Other built scalars are quoted.
YAML::Node plain(const std::string& text);

void emit_node(YAML::Emitter& out, const YAML::Node& node);
std::string to_yaml_text(const YAML::Node& node);

// Deep copy (YAML::Node assignment shares storage).
YAML::Node clone_node(const YAML::Node& node);

}  // namespace bottle::config
