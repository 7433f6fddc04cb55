// Reading an admin listener's Prometheus text (common/http/admin_client.h), and a GET
// against a real loopback listener that answers something other than 200.
#include "common/http/admin_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace bottle {
namespace {

constexpr std::string_view kMetrics =
    "# HELP egress_requests_total HTTP requests seen.\n"
    "# TYPE egress_requests_total counter\n"
    "egress_requests_total 42\n"
    "egress_blocks_total{reason=\"host_not_allowed\"} 3\n"
    "egress_blocks_total{reason=\"dlp_outbound\"} 1\n"
    "egress_blocks_total{other=\"x\"} 9\n"
    "egress_blocks_total_extra{reason=\"y\"} 5\n"
    "egress_bytes_total{direction=\"up\"} 100\n"
    "egress_requests_total_not 7\n"
    "egress_reloads_total x\n";

TEST(PrometheusText, UnlabelledValueByExactName) {
  EXPECT_EQ(prometheus_value(kMetrics, "egress_requests_total"), 42u);
  EXPECT_EQ(prometheus_value(kMetrics, "egress_requests"), std::nullopt);
  EXPECT_EQ(prometheus_value(kMetrics, "egress_reloads_total"), std::nullopt) << "not a number";
}

TEST(PrometheusText, SamplesByOneLabel) {
  auto blocks = prometheus_by_label(kMetrics, "egress_blocks_total", "reason");
  EXPECT_EQ(blocks,
            (std::map<std::string, uint64_t>{{"dlp_outbound", 1}, {"host_not_allowed", 3}}));
  EXPECT_EQ(prometheus_by_label(kMetrics, "egress_bytes_total", "direction").at("up"), 100u);
  EXPECT_TRUE(prometheus_by_label("", "egress_blocks_total", "reason").empty());
}

TEST(AdminGet, NonOkAnswerIsAnErrorNamingTheAddress) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::thread server([fd] {
    int c = ::accept(fd, nullptr, nullptr);
    char buf[1024];
    (void)!::read(c, buf, sizeof buf);
    const std::string answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    (void)!::write(c, answer.data(), answer.size());
    ::close(c);
  });
  auto spec = parse_listen_spec("127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
  ASSERT_TRUE(spec.ok());
  auto r = admin_get(*spec, "/metrics", std::chrono::seconds(5));
  server.join();
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("GET /metrics answered 404"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace bottle
