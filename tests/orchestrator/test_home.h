// A throwaway BOTTLE_HOME with agents/ and bottles/ for manifest tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "orchestrator/manifest.h"

namespace bottle::orchestrator::testing {

class TestHome {
 public:
  TestHome() {
    char tmpl[] = "/tmp/bottle-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    std::filesystem::create_directories(root_ + "/home/agents");
    std::filesystem::create_directories(root_ + "/home/bottles");
    std::filesystem::create_directories(root_ + "/project/.bot-bottle/agents");
  }
  ~TestHome() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  TestHome(const TestHome&) = delete;
  TestHome& operator=(const TestHome&) = delete;

  std::string root() const { return root_; }
  std::string home() const { return root_ + "/home"; }
  std::string project() const { return root_ + "/project"; }
  std::string agent_path(const std::string& name) const {
    return home() + "/agents/" + name + ".md";
  }
  std::string bottle_path(const std::string& name) const {
    return home() + "/bottles/" + name + ".md";
  }
  std::string project_agent_path(const std::string& name) const {
    return root_ + "/project/.bot-bottle/agents/" + name + ".md";
  }

  void agent(const std::string& name, const std::string& text) const {
    write(agent_path(name), text);
  }
  void bottle(const std::string& name, const std::string& text) const {
    write(bottle_path(name), text);
  }
  void project_agent(const std::string& name, const std::string& text) const {
    write(project_agent_path(name), text);
  }

  ManifestDirs dirs() const {
    ManifestDirs d;
    d.agent_dirs = {root_ + "/project/.bot-bottle/agents", home() + "/agents"};
    d.bottle_dir = home() + "/bottles";
    return d;
  }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }

 private:
  std::string root_;
};

}  // namespace bottle::orchestrator::testing
