#include "config/yaml_emit.h"

namespace bottle::config {

YAML::Node plain(const std::string& text) {
  YAML::Node n(text);
  n.SetTag("?");
  return n;
}

void emit_node(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out << YAML::Null;
      return;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted ones "!"; built ones have no tag.
      if (node.Tag() == "?") {
        out << node.Scalar();
      } else {
        out << YAML::DoubleQuoted << node.Scalar();
      }
      return;
    case YAML::NodeType::Sequence:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : node) emit_node(out, item);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key << kv.first.Scalar() << YAML::Value;
        emit_node(out, kv.second);
      }
      out << YAML::EndMap;
      return;
  }
}

std::string to_yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  emit_node(out, node);
  return std::string(out.c_str()) + "\n";
}

YAML::Node clone_node(const YAML::Node& node) {
  return YAML::Clone(node);
}

}  // namespace bottle::config
