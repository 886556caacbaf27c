// IDX reader and MNIST loader: real files, and every way a file can be wrong.
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "analog/data/idx.h"
#include "analog/data/mnist.h"
#include "support/test_support.h"

namespace analog::data {
namespace {

std::string write_file(const std::string& name, const std::vector<unsigned char>& bytes) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::vector<unsigned char> idx_bytes(std::vector<uint32_t> dims, size_t payload) {
  std::vector<unsigned char> b = {0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  }
  for (size_t k = 0; k < payload; ++k) b.push_back(static_cast<unsigned char>(k % 251));
  return b;
}

std::string error_of(const std::string& path, int64_t rank = 0) {
  try {
    read_idx(path, rank);
  } catch (const c10::Error& e) {
    return e.msg();
  }
  return "";
}

TEST(Idx, ReadsAnyRank) {
  const auto path = write_file("ok.idx", idx_bytes({2, 3, 4}, 24));
  const at::Tensor t = read_idx(path, 3);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t.scalar_type(), at::kByte);
  EXPECT_EQ(t[1][2][3].item<int>(), 23);
}

TEST(Idx, EveryDefectIsNamed) {
  EXPECT_THAT(error_of("/nonexistent/file"), HasSubstr("cannot open"));
  auto truncated = idx_bytes({10, 28, 28}, 7840 - 5);
  const auto t_path = write_file("truncated.idx", truncated);
  const std::string t_msg = error_of(t_path);
  EXPECT_THAT(t_msg, HasSubstr(t_path));
  EXPECT_THAT(t_msg, HasSubstr("truncated"));
  auto trailing = idx_bytes({4}, 5);
  EXPECT_THAT(error_of(write_file("trailing.idx", trailing)), HasSubstr("trailing"));
  auto magic = idx_bytes({4}, 4);
  magic[0] = 0x1f;
  EXPECT_THAT(error_of(write_file("magic.idx", magic)), HasSubstr("bad magic"));
  auto type = idx_bytes({4}, 4);
  type[2] = 0x0D;  // float
  EXPECT_THAT(error_of(write_file("type.idx", type)), HasSubstr("element type"));
  EXPECT_THAT(error_of(write_file("rank.idx", idx_bytes({4}, 4)), 3), HasSubstr("expected rank 3"));
  EXPECT_THAT(error_of(write_file("short.idx", {0, 0})), HasSubstr("too short"));
}

TEST(Idx, ADirectoryOrSpecialFileIsNotAnIdxFile) {
  EXPECT_THAT(error_of(::testing::TempDir()), HasSubstr("not a regular file"));
  EXPECT_THAT(error_of("/dev/null"), HasSubstr("not a regular file"));
}

#ifdef ANALOG_WITH_ZLIB
/// `path` compressed by gzip into `path`.gz (the file Debian ships); returns that path.
std::string gzipped(const std::string& path) {
  EXPECT_EQ(std::system(("gzip -f -k '" + path + "'").c_str()), 0);
  return path + ".gz";
}

/// The bytes of a file.
std::vector<unsigned char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
}

TEST(Idx, GzipFilesReadAsTheBytesTheyInflateTo) {
  const std::string raw = write_file("gz_round_trip.idx", idx_bytes({40, 28, 28}, 40 * 784));
  const at::Tensor expected = read_idx(raw, 3);
  EXPECT_TRUE(read_idx(gzipped(raw), 3).equal(expected));
  // The checks apply to the inflated bytes: a wrong magic inside the stream.
  auto bad = idx_bytes({4}, 4);
  bad[0] = 7;
  EXPECT_THAT(error_of(gzipped(write_file("gz_bad_magic.idx", bad))),
              HasSubstr("bad magic number"));
}

TEST(Idx, TruncatedOrCorruptGzipStreamsAreClearErrors) {
  const std::vector<unsigned char> packed =
      bytes_of(gzipped(write_file("gz_defects.idx", idx_bytes({40, 28, 28}, 40 * 784))));
  ASSERT_GT(packed.size(), 100u);
  const std::vector<unsigned char> cut(packed.begin(), packed.end() - 30);
  EXPECT_THAT(error_of(write_file("gz_cut.idx.gz", cut)), HasSubstr("truncated gzip stream"));
  std::vector<unsigned char> flipped = packed;
  for (size_t k = 40; k < 60; ++k) flipped[k] ^= 0x5a;
  EXPECT_THAT(error_of(write_file("gz_flipped.idx.gz", flipped)), HasSubstr("corrupt gzip stream"));
}

TEST(Mnist, GzipFilesAreFoundAsTheirNamePlusGz) {
  const std::string dir = ::testing::TempDir() + "gz_mnist";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  auto labels = idx_bytes({3}, 0);
  for (unsigned char l : {3, 0, 9}) labels.push_back(l);
  std::rename(gzipped(write_file("gz_images.idx", idx_bytes({3, 28, 28}, 3 * 784))).c_str(),
              (dir + "/t10k-images-idx3-ubyte.gz").c_str());
  std::rename(gzipped(write_file("gz_labels.idx", labels)).c_str(),
              (dir + "/t10k-labels-idx1-ubyte.gz").c_str());
  const auto split = load_mnist(dir, false);
  EXPECT_EQ(split.images.sizes(), (std::vector<int64_t>{3, 784}));
  EXPECT_EQ(split.labels[2].item<int64_t>(), 9);
}

// Debian's dataset-fashion-mnist (scripts/setup installs it): 60000 + 10000 gzip files, and a
// test set of exactly 1000 images of each of the ten classes.
TEST(FashionMnist, DebiansFilesLoadWithBalancedTestClasses) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (std::ifstream(dir + "/t10k-labels-idx1-ubyte.gz").fail()) {
    GTEST_SKIP() << dir << " is missing (Debian package dataset-fashion-mnist)";
  }
  const auto test = load_mnist(dir, false);
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 784}));
  EXPECT_TRUE(at::bincount(test.labels).equal(at::full({10}, 1000, at::kLong)));
  EXPECT_EQ(load_mnist(dir, true, 500).images.size(0), 500);
}
#endif

TEST(Mnist, LoaderChecksCountsAgree) {
  const std::string dir = ::testing::TempDir() + "fake_mnist";
  std::system(("mkdir -p " + dir).c_str());
  std::rename(write_file("a.idx", idx_bytes({3, 28, 28}, 3 * 784)).c_str(),
              (dir + "/t10k-images-idx3-ubyte").c_str());
  auto labels = idx_bytes({2}, 0);
  labels.push_back(1);
  labels.push_back(7);
  std::rename(write_file("b.idx", labels).c_str(), (dir + "/t10k-labels-idx1-ubyte").c_str());
  try {
    load_mnist(dir, false);
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("has 3 images but")) << e.msg();
  }
}

TEST(Mnist, RealFilesLoadWithExpectedShapes) {
  const auto test = load_mnist(ANALOG_DATA_DIR, false);
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 784}));
  EXPECT_EQ(test.labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_GE(test.images.min().item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(test.images.max().item<float>(), 1.0f);
  EXPECT_EQ(test.labels[0].item<int64_t>(), 7);  // the first t10k digit is a 7
  const auto train = load_mnist(ANALOG_DATA_DIR, true, 500);
  EXPECT_EQ(train.images.size(0), 500);
  EXPECT_EQ(train.labels[0].item<int64_t>(), 5);  // and the first training digit a 5
}

}  // namespace
}  // namespace analog::data
