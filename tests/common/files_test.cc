#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace bottle {
namespace {

namespace fs = std::filesystem;

class FilesDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bottle-files-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  size_t entries() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
  std::string dir_;
};

TEST_F(FilesDir, AtomicWriteReplacesWholeFileWithTheModeAndNoTempLeft) {
  const std::string p = dir_ + "/routes.yaml";
  ASSERT_TRUE(write_file_atomic(p, "first\n", 0600).ok());
  ASSERT_TRUE(write_file_atomic(p, "second\n", 0640).ok());
  EXPECT_EQ(*read_text_file(p), "second\n");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(FilesDir, AtomicWriteIntoAMissingDirectoryNamesIt) {
  auto st = write_file_atomic(dir_ + "/nope/x", "x", 0600);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find(dir_ + "/nope"), std::string::npos) << st.error();
}

TEST_F(FilesDir, ExclusiveCreateWinsOnceAndNeverOverwrites) {
  const std::string p = dir_ + "/a.response.json";
  auto first = create_file_exclusive(p, "one", 0600);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_TRUE(*first);
  auto second = create_file_exclusive(p, "two", 0600);
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_FALSE(*second);
  EXPECT_EQ(*read_text_file(p), "one");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(FilesDir, MissingFileIsNulloptOrAnErrorNamingIt) {
  auto maybe = read_file_if_exists(dir_ + "/none");
  ASSERT_TRUE(maybe.ok());
  EXPECT_FALSE(maybe->has_value());
  auto r = read_text_file(dir_ + "/none");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), dir_ + "/none: cannot read: No such file or directory");
}

}  // namespace
}  // namespace bottle
