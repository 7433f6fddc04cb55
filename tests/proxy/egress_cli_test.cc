// bottle-egress flags and startup errors: exit codes and one-line messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/proxy/harness.h"

namespace bottle::test {
namespace {

class EgressCli : public ::testing::Test {
 protected:
  void SetUp() override {
    mint_test_pki(dir_.path());
    write_file(dir_.file("routes.yaml"), "routes:\n  - host: api.test\n");
  }
  CommandResult egress(std::vector<std::string> args) {
    args.insert(args.begin(), egress_binary());
    CommandResult r = run(args, dir_.file("stderr"), {{"EGRESS_TOKEN_0", "x"}});
    stderr_ = read_file(dir_.file("stderr"));
    return r;
  }
  std::vector<std::string> base() {
    return {"--config", dir_.file("routes.yaml"), "--ca-cert", dir_.file("ca.pem"),
            "--ca-key", dir_.file("ca-key.pem"),  "--threads", "1"};
  }
  ScratchDir dir_;
  std::string stderr_;
};

TEST_F(EgressCli, HelpAndVersionExitZero) {
  EXPECT_EQ(egress({"--help"}).exit_code, 0);
  CommandResult v = egress({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("bottle-egress"), std::string::npos);
}

TEST_F(EgressCli, UnknownFlagIsUsageError) {
  auto args = base();
  args.push_back("--bogus");
  EXPECT_EQ(egress(args).exit_code, 2);
  EXPECT_EQ(stderr_.rfind("bottle-egress: ", 0), 0u) << stderr_;
}

TEST_F(EgressCli, BadListenSpecIsUsageError) {
  auto args = base();
  args.insert(args.end(), {"--listen", "nonsense"});
  EXPECT_EQ(egress(args).exit_code, 2);
  EXPECT_NE(stderr_.find("--listen"), std::string::npos) << stderr_;
}

TEST_F(EgressCli, BadTimeoutOrBufferCapIsUsageError) {
  for (std::vector<std::string> bad : {std::vector<std::string>{"--timeout", "bogus=1"},
                                       {"--timeout", "body"},
                                       {"--timeout", "body=-1"},
                                       {"--max-buffered", "0"}}) {
    auto args = base();
    args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    args.insert(args.end(), bad.begin(), bad.end());
    EXPECT_EQ(egress(args).exit_code, 2) << bad[0] << " " << bad[1];
    EXPECT_EQ(stderr_.rfind("bottle-egress: ", 0), 0u) << stderr_;
    EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
  }
}

TEST_F(EgressCli, CheckAcceptsValidAndRejectsInvalidConfig) {
  EXPECT_EQ(egress({"--config", dir_.file("routes.yaml"), "--check"}).exit_code, 0) << stderr_;
  write_file(dir_.file("bad.yaml"), "routes:\n  - host: api.test\n    prot: 443\n");
  EXPECT_EQ(egress({"--config", dir_.file("bad.yaml"), "--check"}).exit_code, 1);
  EXPECT_NE(stderr_.find("bad.yaml:3:"), std::string::npos) << stderr_;
  EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
}

TEST_F(EgressCli, CheckListsTheDetectorsAndTheirActions) {
  write_file(dir_.file("det.yaml"),
             "dlp: {detectors: {secret.jwt: warn}}\nroutes:\n  - host: api.test\n"
             "    dlp: {detectors: {injection.prompt: off}}\n");
  CommandResult r = egress({"--config", dir_.file("det.yaml"), "--check"});
  EXPECT_EQ(r.exit_code, 0) << stderr_;
  EXPECT_NE(r.out.find("secret.github_pat"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exfil.host_labels"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("egress.encoded_host_label"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("warn (default block)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("route api.test: injection.prompt off"), std::string::npos) << r.out;
  // An id the engine does not have is a positioned error with a suggestion.
  write_file(dir_.file("typo.yaml"), "dlp: {detectors: {secret.jtw: warn}}\nroutes: []\n");
  EXPECT_EQ(egress({"--config", dir_.file("typo.yaml"), "--check"}).exit_code, 1);
  EXPECT_NE(stderr_.find("typo.yaml:1:19: unknown key 'secret.jtw' in dlp.detectors (did you mean 'secret.jwt'?)"),
            std::string::npos)
      << stderr_;
}

TEST_F(EgressCli, MissingTokenEnvFailsLoad) {
  write_file(
      dir_.file("auth.yaml"),
      "routes:\n  - host: api.test\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_7}\n");
  EXPECT_EQ(egress({"--config", dir_.file("auth.yaml"), "--check"}).exit_code, 1);
  EXPECT_NE(stderr_.find("EGRESS_TOKEN_7"), std::string::npos) << stderr_;
}

TEST_F(EgressCli, UnreadableCaIsOneLineError) {
  auto args = base();
  args[3] = dir_.file("missing.pem");
  args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  EXPECT_EQ(egress(args).exit_code, 1);
  EXPECT_EQ(stderr_.rfind("bottle-egress: ca: ", 0), 0u) << stderr_;
  EXPECT_NE(stderr_.find("missing.pem"), std::string::npos) << stderr_;
}

TEST_F(EgressCli, KeyCertMismatchIsRefused) {
  auto args = base();
  args[5] = dir_.file("up-key.pem");  // a key that did not sign ca.pem
  args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  EXPECT_EQ(egress(args).exit_code, 1);
  EXPECT_EQ(stderr_.rfind("bottle-egress: ca: ", 0), 0u) << stderr_;
}

TEST_F(EgressCli, PortInUseIsOneLineError) {
  uint16_t port = 0;
  int fd = listen_loopback(&port);
  auto args = base();
  args.insert(args.end(), {"--listen", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(egress(args).exit_code, 1);
  close(fd);
  EXPECT_NE(stderr_.find("in use"), std::string::npos) << stderr_;
  EXPECT_EQ(std::count(stderr_.begin(), stderr_.end(), '\n'), 1) << stderr_;
}

TEST_F(EgressCli, BadResolvePinIsUsageError) {
  auto args = base();
  args.insert(args.end(), {"--listen", "127.0.0.1:0", "--resolve", "api.test:443:not-an-ip"});
  EXPECT_EQ(egress(args).exit_code, 2);
  EXPECT_NE(stderr_.find("--resolve"), std::string::npos) << stderr_;
}

}  // namespace
}  // namespace bottle::test
