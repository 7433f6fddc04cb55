// A git:// session (gitprotocol-pack(5)): the first pkt-line names the service and repo;
// reads wait for a fresh fetch; then the socket and a git upload-pack / receive-pack are
// joined byte for byte until the child is done. Refusals are ERR packets.
#pragma once

#include <string>

#include "gitgate/client_connection.h"

namespace bottle::gitgate {

class GitConnection final : public ClientConnection {
 public:
  explicit GitConnection(GateContext& ctx);

 private:
  ~GitConnection() override;
  void on_bytes(std::string_view data) override;
  void on_client_eof() override;
  void on_deadline() override;
  void on_drained() override;

  void refuse(const std::string& message, const std::string& log_reason);
  void start_child(const config::GateRepo& repo, const DaemonRequest& request);
  void child_done();

  enum class State { request, fetching, relaying, done };
  State state_ = State::request;
  std::string pending_;  // bytes before the child runs
  ServiceProcess* child_ = nullptr;
  bool child_exited_ = false;
  bool child_out_ended_ = false;
  bool child_spoke_ = false;  // the child wrote to the client
  int child_status_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bottle::gitgate
